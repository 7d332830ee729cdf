//! The README's routing-engine snippet is `core/examples/route_orders.rs`,
//! and it runs.

#[path = "../examples/route_orders.rs"]
mod route_orders;

#[test]
fn the_readme_example_runs() {
    route_orders::main().unwrap();
}

#[test]
fn the_readme_shows_the_example_verbatim() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let example = include_str!("../examples/route_orders.rs");
    let start = readme
        .find("<!-- engine-example -->")
        .expect("README marks the snippet");
    let block = &readme[start..];
    let body = block
        .split("```rust\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    assert_eq!(
        body, example,
        "README snippet and core/examples/route_orders.rs differ"
    );
}
