//! `tunesmith doctor`: the device, the home folder and the versions.

use std::process::ExitCode;

use crate::{output, Context};

/// Prints the doctor report.
pub fn run(ctx: &Context) -> tunesmith::Result<ExitCode> {
    let report = tunesmith::doctor::doctor(&ctx.home);
    if ctx.json {
        output::json_pretty(&report);
    } else {
        let d = &report.device;
        println!("Tunesmith {}", report.versions.tunesmith);
        println!("device      {} ({} CPU threads)", d.selected, d.cpu_threads);
        println!(
            "cuda        {}",
            availability(d.cuda_compiled, d.cuda_available)
        );
        println!(
            "metal       {}",
            availability(d.metal_compiled, d.metal_available)
        );
        println!("home        {}", report.home);
        println!("sqlite      {}", report.versions.sqlite);
    }
    Ok(ExitCode::SUCCESS)
}

fn availability(compiled: bool, available: bool) -> &'static str {
    match (compiled, available) {
        (false, _) => "not in this build",
        (true, false) => "in this build, no device found",
        (true, true) => "available",
    }
}
