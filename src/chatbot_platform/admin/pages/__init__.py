"""The admin UI's pages, one module per area."""
