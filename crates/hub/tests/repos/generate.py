"""Generates the tiny fixture repositories the mock hub serves (run once; the output is committed).

    /root/.cache/tunesmith-venv/bin/python crates/hub/tests/repos/generate.py

Weights are random and tiny: the tests check transport, layout and validation, not numbers.
"""
import json, os, shutil
import numpy as np
from safetensors.numpy import save_file
from tokenizers import Tokenizer, models, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)

def t(*shape):
    return rng.standard_normal(shape).astype(np.float32)

def tokenizer(path, vocab):
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(path)

def repo(name, files, mock):
    d = os.path.join(HERE, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for fname, content in files.items():
        p = os.path.join(d, fname)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if callable(content):
            content(p)
        else:
            with open(p, "w") as f:
                json.dump(content, f, indent=1)
    with open(os.path.join(d, "mock.json"), "w") as f:
        json.dump(mock, f, indent=1)

vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "film", "the"] + [f"w{i}" for i in range(56)]
H, L, I, V, P = 16, 2, 32, len(vocab), 64

def bert_weights(path):
    w = {"embeddings.word_embeddings.weight": t(V, H), "embeddings.position_embeddings.weight": t(P, H),
         "embeddings.token_type_embeddings.weight": t(2, H), "embeddings.LayerNorm.weight": t(H),
         "embeddings.LayerNorm.bias": t(H)}
    for l in range(L):
        p = f"encoder.layer.{l}."
        for n in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]:
            w[p + n + ".weight"] = t(H, H); w[p + n + ".bias"] = t(H)
        w[p + "attention.output.LayerNorm.weight"] = t(H); w[p + "attention.output.LayerNorm.bias"] = t(H)
        w[p + "intermediate.dense.weight"] = t(I, H); w[p + "intermediate.dense.bias"] = t(I)
        w[p + "output.dense.weight"] = t(H, I); w[p + "output.dense.bias"] = t(H)
        w[p + "output.LayerNorm.weight"] = t(H); w[p + "output.LayerNorm.bias"] = t(H)
    save_file(w, path)

bert_config = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": H, "num_hidden_layers": L,
               "num_attention_heads": 2, "intermediate_size": I, "vocab_size": V, "max_position_embeddings": P,
               "type_vocab_size": 2}

def pickle_stub(path):
    with open(path, "wb") as f:
        f.write(b"PK\x03\x04 a pickle stand-in that must never be downloaded")

repo("tiny-bert", {
    "config.json": bert_config,
    "tokenizer.json": lambda p: tokenizer(p, vocab),
    "tokenizer_config.json": {"model_max_length": P},
    "model.safetensors": bert_weights,
    "pytorch_model.bin": pickle_stub,
    "1_Pooling/config.json": {"word_embedding_dimension": H, "pooling_mode_mean_tokens": True},
}, {"pipeline_tag": "feature-extraction", "downloads": 900, "license": "apache-2.0"})

llama_config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H, "num_hidden_layers": L,
                "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": I, "vocab_size": V,
                "max_position_embeddings": 128, "tie_word_embeddings": True}

def llama_shards(d):
    shard1 = {"model.embed_tokens.weight": t(V, H), "model.norm.weight": t(H)}
    shard2 = {}
    for l in range(L):
        p = f"model.layers.{l}."
        s = shard1 if l == 0 else shard2
        s[p + "self_attn.q_proj.weight"] = t(H, H); s[p + "self_attn.k_proj.weight"] = t(H // 2, H)
        s[p + "self_attn.v_proj.weight"] = t(H // 2, H); s[p + "self_attn.o_proj.weight"] = t(H, H)
        s[p + "mlp.gate_proj.weight"] = t(I, H); s[p + "mlp.up_proj.weight"] = t(I, H); s[p + "mlp.down_proj.weight"] = t(H, I)
        s[p + "input_layernorm.weight"] = t(H); s[p + "post_attention_layernorm.weight"] = t(H)
    names = {}
    for i, s in enumerate([shard1, shard2]):
        fn = f"model-0000{i+1}-of-00002.safetensors"
        save_file(s, os.path.join(d, fn))
        names.update({k: fn for k in s})
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": names}, f, indent=1)

repo("tiny-llama-gated", {
    "config.json": llama_config,
    "tokenizer.json": lambda p: tokenizer(p, vocab),
    "generation_config.json": {"max_new_tokens": 16},
}, {"pipeline_tag": "text-generation", "downloads": 500, "license": "llama3.2", "gated": True})
llama_shards(os.path.join(HERE, "tiny-llama-gated"))

repo("tiny-t5", {
    "config.json": {"architectures": ["T5ForConditionalGeneration"], "model_type": "t5", "d_model": H},
    "tokenizer.json": lambda p: tokenizer(p, vocab),
    "model.safetensors": lambda p: save_file({"shared.weight": t(V, H)}, p),
}, {"pipeline_tag": "text2text-generation", "downloads": 300, "license": "apache-2.0"})

repo("pickle-only-bert", {
    "config.json": bert_config,
    "tokenizer.json": lambda p: tokenizer(p, vocab),
    "pytorch_model.bin": pickle_stub,
}, {"pipeline_tag": "feature-extraction", "downloads": 10, "license": "mit"})
