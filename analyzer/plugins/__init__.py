"""Built-in plugins. Each module is registered like an entry-point plugin,
under its path below ``analyzer.plugins`` (``metrics.macs``), so any of them
can be blocked by that name."""

BUILTIN_PLUGINS: tuple[str, ...] = (
    "analyzer.plugins.frontends.ir",
    "analyzer.plugins.frontends.torch",
    "analyzer.plugins.frontends.keras",
    "analyzer.plugins.frontends.jax",
    "analyzer.plugins.formulas.contractions",
    "analyzer.plugins.formulas.elementwise",
    "analyzer.plugins.formulas.layers",
    "analyzer.plugins.metrics.params",
    "analyzer.plugins.metrics.model_size",
    "analyzer.plugins.metrics.compute",
    "analyzer.plugins.metrics.activations",
    "analyzer.plugins.metrics.traffic",
    "analyzer.plugins.metrics.receptive_field",
    "analyzer.plugins.metrics.training",
    "analyzer.plugins.hardware.cpu",
    "analyzer.plugins.hardware.gpu",
    "analyzer.plugins.hardware.mcu",
    "analyzer.plugins.reporters.table",
    "analyzer.plugins.reporters.json",
    "analyzer.plugins.reporters.csv",
    "analyzer.plugins.reporters.markdown",
    "analyzer.plugins.reporters.html",
)
