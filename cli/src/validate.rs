//! `uoom validate-order FILE.json`: the create-order validation of the core,
//! as a command (docs/validation.md).
//!
//! Exit 0 with the normalized order on stdout; exit 2 with a JSON list of
//! `{field, code, message}` on stdout; exit 2 with a one-line error on stderr
//! when the file cannot be read.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `uoom validate-order`.
#[derive(clap::Args)]
pub struct Args {
    /// The create-order request (JSON) to validate.
    pub file: PathBuf,
}

/// Runs the command and returns its exit code.
pub fn run(args: &Args) -> ExitCode {
    let bytes = match read_capped(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("uoom: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    match uoom::parse_create_order(&bytes) {
        Ok(req) => {
            println!("{}", pretty(&req.to_json()));
            ExitCode::SUCCESS
        }
        Err(err) => {
            let list = serde_json::to_value(err.field_errors()).unwrap_or_default();
            println!("{}", pretty(&list));
            ExitCode::from(2)
        }
    }
}

/// Reads at most one byte past the body limit, so a huge file is rejected
/// as `too_large` without being loaded.
fn read_capped(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(uoom::MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}
