"""Command groups of the `presswatch` CLI, one module per area; each exposes
`register(app)`. `presswatch.cli` assembles them. A command module imports at its top
only Typer and light modules of ours; what a command needs (the archive, the ORM,
Scrapy, search, FastAPI) it imports inside, when it runs."""
