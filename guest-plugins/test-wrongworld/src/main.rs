//! test-wrongworld: a test guest that is not a glint plugin at all but a plain wasi command
//! component (the `wasi:cli/command` world), for the loader's wrong-world test.

fn main() {
    println!("not a glint plugin");
}
