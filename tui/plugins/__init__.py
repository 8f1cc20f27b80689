"""The plugin API: how a service inspector plugs into envdeck (no Textual here)."""
