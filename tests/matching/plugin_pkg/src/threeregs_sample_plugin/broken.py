"""A plugin that cannot be imported, as when a dependency is missing."""

raise ImportError("threeregs_sample_plugin.broken needs a package that is not installed")
