//! The numasim command line (`src/cli/`).

mod cli;

fn main() {
    cli::main()
}
