//! The `cseek` command: a thin layer over the library (see `cli.rs`).

mod cli;

fn main() -> std::process::ExitCode {
    quiet_contained_panics();
    cli::main()
}

/// The library catches panics inside tantivy on a damaged index and returns
/// `Error::CorruptIndex`, which the CLI prints as one line; the default hook would first
/// print a "panicked at" message for the caught panic. Stay quiet for those, keep the
/// default message for any other panic (a bug). Only the binary does this: the library
/// must not replace the hook of the program it is linked into.
fn quiet_contained_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !cseek::lexical::panic_is_contained() {
            default(info);
        }
    }));
}
