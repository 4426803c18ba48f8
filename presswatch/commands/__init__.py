"""Command groups of the `presswatch` CLI, one module per area; each exposes
`register(app)`. `presswatch.cli` assembles them."""
