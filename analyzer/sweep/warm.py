"""Imported by the local pool's fork server before it forks workers: the default plugin set
(every built-in metric, hardware model and device) is loaded there once, not in each worker."""

from analyzer.core.plugins import default_plugins

default_plugins()
