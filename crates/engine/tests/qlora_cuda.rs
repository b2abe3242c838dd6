//! QLoRA on a GPU (issue 13 item 4): correct and lean.
//!
//! - Lean, on any machine: the SmolLM2-135M shape's frozen base, quantised as the GPU policy picks
//!   (4-bit at every width), takes at most 30 % of its bf16 bytes.
//! - Correct, with `--features cuda` and a GPU (the tests print why they skip otherwise): the
//!   quantised product and its input gradient on CUDA match the CPU for Q4K and Q4_0 weights (f32
//!   and bf16 activations), and one QLoRA training step on the SmolLM2-135M shape at 2 x 64 gives
//!   the same losses on CUDA and the CPU.
//!
//! ```text
//! cargo test -p tunesmith-engine --features cuda --test qlora_cuda
//! cargo test -p tunesmith-engine --features cuda --test qlora_cuda -- --ignored   # + candle's own kernel
//! ```
//!
//! bench/gpu/run runs this binary on the GPU machine before it measures anything.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::models::llama::{causal_lm_loss, LlamaModel};
use tunesmith_engine::models::llama_config::LlamaConfig;
use tunesmith_engine::nn::params::{Backbone, LoraSetup, Params};
use tunesmith_engine::nn::quantized::QuantPolicy;
use tunesmith_engine::train::{AdamW, AdamWConfig, Rng};

type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[cfg(feature = "cuda")]
mod gpu_device;

/// The SmolLM2-135M config bench/gpu uses (hidden 576, MLP 1536, 30 layers, vocabulary 49152),
/// compiled in: bench/gpu/run ships this test's binary to a machine with no checkout at the path
/// it was built from.
fn smollm2() -> R<LlamaConfig> {
    let cfg: LlamaConfig = serde_json::from_str(include_str!(
        "../../../bench/gpu/models/smollm2-135m/config.json"
    ))?;
    cfg.validate()?;
    Ok(cfg)
}

/// Random weights of the config's real names and shapes on the CPU: matrices N(0, 0.02) as
/// bench/gpu/measure.py writes them, norms 1.
fn random_weights(cfg: &LlamaConfig) -> R<HashMap<String, Tensor>> {
    let (h, inter, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
    let (heads, kv, hd) = (cfg.num_attention_heads, cfg.kv_heads(), cfg.head_dim());
    let normal = |shape: (usize, usize)| Tensor::randn(0f32, 0.02, shape, &Device::Cpu);
    let ones = |n: usize| Tensor::ones(n, DType::F32, &Device::Cpu);
    let mut w = HashMap::new();
    w.insert("model.embed_tokens.weight".to_string(), normal((v, h))?);
    w.insert("model.norm.weight".to_string(), ones(h)?);
    for i in 0..cfg.num_hidden_layers {
        let p = format!("model.layers.{i}.");
        for (name, shape) in [
            ("self_attn.q_proj", (heads * hd, h)),
            ("self_attn.k_proj", (kv * hd, h)),
            ("self_attn.v_proj", (kv * hd, h)),
            ("self_attn.o_proj", (h, heads * hd)),
            ("mlp.gate_proj", (inter, h)),
            ("mlp.up_proj", (inter, h)),
            ("mlp.down_proj", (h, inter)),
        ] {
            w.insert(format!("{p}{name}.weight"), normal(shape)?);
        }
        for norm in ["input_layernorm", "post_attention_layernorm"] {
            w.insert(format!("{p}{norm}.weight"), ones(h)?);
        }
    }
    Ok(w)
}

/// The QLoRA model (LoRA r 8 on every linear layer, no dropout) over `weights` on `device`, its base
/// quantised with `policy`.
fn qlora_model(
    cfg: &LlamaConfig,
    weights: &HashMap<String, Tensor>,
    device: &Device,
    policy: QuantPolicy,
) -> R<LlamaModel> {
    let mut on_device = HashMap::new();
    for (k, v) in weights {
        on_device.insert(k.clone(), v.to_device(device)?);
    }
    let vb = candle_nn::VarBuilder::from_tensors(on_device, DType::F32, device);
    let backbone = Backbone::Lora(LoraSetup {
        config: LoraConfig {
            r: 8,
            alpha: 16.0,
            dropout: 0.0,
            target_modules: Vec::new(),
            use_rslora: false,
        },
        initial: Default::default(),
    });
    let params =
        Params::new(vb, candle_nn::VarMap::new(), backbone, Default::default()).with_seed(3);
    Ok(LlamaModel::new(cfg, &params, Some(policy), None)?)
}

#[test]
fn the_smollm2_135m_base_under_the_gpu_policy_takes_at_most_30_percent_of_bf16() -> R {
    let cfg = smollm2()?;
    // The policy a GPU resolves `Four` to, for every width this model has: 4-bit everywhere.
    for width in [
        cfg.hidden_size,
        cfg.intermediate_size,
        cfg.num_attention_heads * cfg.head_dim(),
    ] {
        assert_eq!(
            QuantPolicy::Four.dtype_placed(width, true)?,
            QuantPolicy::FourStrict.dtype_for(width)?,
            "width {width}"
        );
    }
    // Built on the CPU with that choice; the bytes a block type takes do not depend on the device,
    // and `base_stored_bytes` leaves out the tile copy only candle's CPU kernel makes.
    let model = qlora_model(
        &cfg,
        &random_weights(&cfg)?,
        &Device::Cpu,
        QuantPolicy::FourStrict,
    )?;
    let bf16 = model.base_f32_bytes() / 2;
    let ratio = model.base_stored_bytes() as f64 / bf16 as f64;
    println!(
        "SmolLM2-135M base under the GPU policy: {} of {} bf16 bytes ({:.1} %)",
        model.base_stored_bytes(),
        bf16,
        ratio * 100.0
    );
    assert!(
        ratio <= 0.30,
        "the quantised base takes {:.1} % of bf16",
        ratio * 100.0
    );
    // Q4K (144 bytes per 256) and Q4_0 (18 per 32) are both 0.5625 bytes a weight, 28.1 % of
    // bf16; a layer left at 8 bits (Q8_0, 53 %) or dense would show here.
    assert!(ratio > 0.27, "{ratio}: fewer bytes than 4 bits a weight");
    Ok(())
}

/// `(first loss, loss after one AdamW step at lr 1e-2)` of the QLoRA model on `device` for a fixed
/// 2 x 64 batch of token ids (next-token loss over every position), the base quantised with
/// `policy`.
fn one_step_losses(
    cfg: &LlamaConfig,
    weights: &HashMap<String, Tensor>,
    device: &Device,
    policy: QuantPolicy,
) -> R<(f64, f64)> {
    let model = qlora_model(cfg, weights, device, policy)?;
    let mut rng = Rng::new(11);
    let ids: Vec<u32> = (0..2 * 64)
        .map(|_| rng.below(cfg.vocab_size as u64) as u32)
        .collect();
    let ids = Tensor::from_vec(ids, (2, 64), device)?;
    let loss_of = |m: &LlamaModel| -> R<Tensor> {
        Ok(causal_lm_loss(&m.forward_t(&ids, None, true)?, &ids)?)
    };
    let loss = loss_of(&model)?;
    let first = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    let grads = loss.backward()?;
    let mut vars: Vec<(String, candle_core::Var)> = model
        .trainable()
        .data()
        .lock()
        .map_err(|_| "the variable map's lock is poisoned")?
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!vars.is_empty(), "no LoRA factors to train");
    let g: Vec<Option<Tensor>> = vars.iter().map(|(_, v)| grads.get(v).cloned()).collect();
    assert!(
        g.iter().any(|g| g.is_some()),
        "no LoRA factor got a gradient"
    );
    let mut opt = AdamW::new(vars, AdamWConfig::default())?;
    opt.step(&g, 1e-2)?;
    let second = loss_of(&model)?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    Ok((first, second))
}

#[test]
fn one_qlora_step_on_the_smollm2_shape_lowers_the_loss_on_the_cpu() -> R {
    let cfg = smollm2()?;
    let (first, second) = one_step_losses(
        &cfg,
        &random_weights(&cfg)?,
        &Device::Cpu,
        QuantPolicy::FourStrict,
    )?;
    println!("cpu: first loss {first}, after one step {second}");
    // Random weights: the first loss is near ln(49152) = 10.8.
    assert!(first.is_finite() && (first - 10.8).abs() < 1.0, "{first}");
    assert!(
        second < first,
        "one step did not lower the loss: {first} -> {second}"
    );
    Ok(())
}

#[cfg(feature = "cuda")]
mod cuda {
    use std::sync::Arc;

    use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
    use candle_core::{DType, Device, Module, Tensor, Var};
    use tunesmith_engine::nn::linear::LinearBase;
    use tunesmith_engine::nn::ops::matmul_t;
    use tunesmith_engine::nn::quantized::{QuantPolicy, QuantizedBase};

    use super::gpu_device::gpu;
    use super::{one_step_losses, random_weights, smollm2, R};

    fn max_abs(t: &Tensor) -> R<f32> {
        Ok(t.to_device(&Device::Cpu)?
            .to_dtype(DType::F32)?
            .abs()?
            .flatten_all()?
            .max(0)?
            .to_scalar::<f32>()?)
    }

    /// Largest |a - b| (both moved to the CPU in f32); infinite when either holds a NaN or an inf.
    fn diff(a: &Tensor, b: &Tensor) -> R<f32> {
        let a = a.to_device(&Device::Cpu)?.to_dtype(DType::F32)?;
        let b = b.to_device(&Device::Cpu)?.to_dtype(DType::F32)?;
        let nan = |t: &Tensor| -> R<bool> {
            Ok(t.flatten_all()?
                .to_vec1::<f32>()?
                .iter()
                .any(|v| !v.is_finite()))
        };
        if nan(&a)? || nan(&b)? {
            return Ok(f32::INFINITY);
        }
        max_abs(&(a - b)?)
    }

    /// The layer shapes and block types of the SmolLM2-135M QLoRA base on a GPU (down_proj is the
    /// Q4K one), plus the tiny fixture's Q8_0 case that was shown to work.
    const CASES: [(usize, usize, GgmlDType); 4] = [
        (576, 1536, GgmlDType::Q4K),
        (1536, 576, GgmlDType::Q4_0),
        (192, 576, GgmlDType::Q4_0),
        (64, 64, GgmlDType::Q8_0),
    ];

    #[test]
    fn the_quantised_product_and_its_input_gradient_on_cuda_match_the_cpu() -> R {
        let Some(gpu) = gpu() else { return Ok(()) };
        let cpu = Device::Cpu;
        for (out, in_f, dtype) in CASES {
            let w = Tensor::randn(0f32, 0.02, (out, in_f), &cpu)?;
            let q_cpu = Arc::new(QTensor::quantize(&w, dtype)?);
            // candle quantises a CUDA tensor on the host with the same code: the same blocks.
            let q_gpu = Arc::new(QTensor::quantize(&w.to_device(&gpu)?, dtype)?);
            let dense = q_cpu.dequantize(&cpu)?;
            let scale = max_abs(&dense)?;
            let d = diff(&q_gpu.dequantize(&gpu)?, &dense)?;
            // The same f16 scales times the same small integers, in f32: equal up to rounding.
            assert!(
                d <= 1e-6 * scale,
                "{dtype:?} {out}x{in_f}: CUDA dequantises {d} off"
            );
            let base_cpu = QuantizedBase::new(q_cpu, None)?;
            let base_gpu = QuantizedBase::new(q_gpu, None)?;
            for (b, t) in [(2, 64), (1, 3)] {
                let x = Tensor::randn(0f32, 1.0, (b, t, in_f), &cpu)?;
                let up = Tensor::randn(0f32, 1.0, (b, t, out), &cpu)?;
                // The CPU's result: its own op at 2 x 64 (the dense product), the exact dense
                // reference at 3 rows (where the CPU takes candle's 8-bit-activation kernel).
                let (y_cpu, g_cpu) = product_and_grad(&base_cpu, &x, &up)?;
                let y_ref = matmul_t(&x, &dense)?;
                let g_ref = up.matmul(&dense.unsqueeze(0)?.broadcast_as((b, out, in_f))?)?;
                let (y_want, g_want) = if b * t >= 8 {
                    (y_cpu, g_cpu)
                } else {
                    (y_ref, g_ref)
                };
                for act in [DType::F32, DType::BF16] {
                    let xg = x.to_dtype(act)?.to_device(&gpu)?;
                    let upg = up.to_dtype(act)?.to_device(&gpu)?;
                    let (y, g) = product_and_grad(&base_gpu, &xg, &upg)?;
                    assert_eq!(y.dtype(), act, "the product runs in the activations' dtype");
                    let (ys, gs) = (max_abs(&y_want)?, max_abs(&g_want)?);
                    // f32: summation order only. bf16: 8 significant bits on inputs, weights and
                    // outputs (cuBLAS accumulates in f32): a few per cent of the largest value.
                    let tol = if act == DType::F32 { 1e-4 } else { 3e-2 };
                    let (dy, dg) = (diff(&y, &y_want)?, diff(&g, &g_want)?);
                    println!(
                        "{dtype:?} {out}x{in_f} rows {b}x{t} {act:?}: output off by {dy:.2e} of \
                         {ys:.2e}, input gradient off by {dg:.2e} of {gs:.2e}"
                    );
                    assert!(dy <= tol * ys, "{dtype:?} {act:?}: CUDA output off by {dy}");
                    assert!(
                        dg <= tol * gs,
                        "{dtype:?} {act:?}: CUDA gradient off by {dg}"
                    );
                }
            }
        }
        Ok(())
    }

    /// `y = base(x)` and `d sum(y * up) / dx`.
    fn product_and_grad(base: &QuantizedBase, x: &Tensor, up: &Tensor) -> R<(Tensor, Tensor)> {
        let xv = Var::from_tensor(x)?;
        let y = base.forward(xv.as_tensor())?;
        let grads = (y.to_dtype(DType::F32)? * up.to_dtype(DType::F32)?)?
            .sum_all()?
            .backward()?;
        let g = grads
            .get(&xv)
            .ok_or("no gradient reached the input")?
            .clone();
        Ok((y, g))
    }

    #[test]
    fn one_qlora_step_on_the_smollm2_shape_gives_the_same_losses_on_cuda_and_the_cpu() -> R {
        let Some(gpu) = gpu() else { return Ok(()) };
        let cfg = smollm2()?;
        let weights = random_weights(&cfg)?;
        // The GPU's 4-bit choice on both devices, so both quantise to the same blocks.
        let policy = QuantPolicy::FourStrict;
        let (c0, c1) = one_step_losses(&cfg, &weights, &Device::Cpu, policy)?;
        let (g0, g1) = one_step_losses(&cfg, &weights, &gpu, policy)?;
        println!("first loss cpu {c0} cuda {g0}; after one step cpu {c1} cuda {g1}");
        assert!(g0.is_finite() && g1.is_finite(), "CUDA gave {g0}, {g1}");
        // f32 on both; the CPU's few-row kernels are not involved at 2 x 64 (dense products).
        assert!(
            (g0 - c0).abs() <= 1e-4 * c0,
            "first loss: cpu {c0}, cuda {g0}"
        );
        assert!(
            (g1 - c1).abs() <= 1e-3 * c1,
            "after one step: cpu {c1}, cuda {g1}"
        );
        assert!(
            g1 < g0,
            "the CUDA step did not lower the loss: {g0} -> {g1}"
        );
        Ok(())
    }

    /// Not used for training (nn::quantized never calls it on a GPU): records whether candle
    /// 0.11.1's own quantised CUDA matmul agrees with the dequantised product, per block type and
    /// for its two paths (`fast_mmq` above 8 rows, `fast_mmvq` up to 8), so the cause of the NaN
    /// issue 13 saw can be read off the GPU machine.
    #[test]
    #[ignore = "a diagnosis of candle's kernel, not of Tunesmith"]
    fn candle_s_quantised_kernel_agrees_with_the_dequantised_product_on_cuda() -> R {
        let Some(gpu) = gpu() else { return Ok(()) };
        let cpu = Device::Cpu;
        let mut bad = Vec::new();
        for (out, in_f, dtype) in CASES {
            let w = Tensor::randn(0f32, 0.02, (out, in_f), &cpu)?;
            let q = QTensor::quantize(&w.to_device(&gpu)?, dtype)?;
            let dense = q.dequantize(&cpu)?;
            let mm = QMatMul::from_qtensor(q)?;
            for rows in [128, 4] {
                // Activations of the size a random-init model has, and 100x that.
                for amp in [1f32, 100.0] {
                    let x = (Tensor::randn(0f32, 1.0, (rows, in_f), &cpu)? * amp as f64)?;
                    let want = matmul_t(&x, &dense)?;
                    let got = mm.forward(&x.to_device(&gpu)?)?;
                    let d = diff(&got, &want)?;
                    let s = max_abs(&want)?;
                    println!("candle {dtype:?} {out}x{in_f}, {rows} rows, x{amp}: off by {d:.3e} of {s:.3e}");
                    // 8-bit activations: about 1 % of the largest output.
                    if d > 0.05 * s {
                        bad.push(format!(
                            "{dtype:?} {out}x{in_f} {rows} rows x{amp}: {d} of {s}"
                        ));
                    }
                }
            }
        }
        assert!(
            bad.is_empty(),
            "candle's quantised CUDA matmul is off: {bad:?}"
        );
        Ok(())
    }
}
