fn main() {
    // The migrations are embedded at compile time (refinery): a new or changed file must
    // rebuild the library.
    println!("cargo:rerun-if-changed=migrations");
}
