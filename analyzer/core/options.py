"""Options of one analysis: the conventions every metric shares, and each metric's own options.

Conventions (bias, FLOP counting, bit widths...) are fields of ``AnalysisOptions``.
An option only one metric reads is declared by that metric (``Metric.options``,
``analyzer.core.metric.Option``) and set as ``metric_options={"traffic":
{"naive_traffic": True}}``, ``options={"traffic.naive_traffic": True}``, the CLI's
``--option traffic.naive_traffic=true``, or the alias keyword the option declares
(``naive_traffic=True``, ``--naive-traffic``). ``resolve`` checks them against the
loaded metrics and fills in every default (docs/plugins.md, "Metric options").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from analyzer.core.errors import UsageError

if TYPE_CHECKING:
    from analyzer.core.metric import Metric


@dataclass(frozen=True)
class AnalysisOptions:
    """Conventions and switches; the defaults are documented in docs/metrics.md.

    - ``bias``: count bias parameters (the lecture ignores them: ``bias=False``).
    - ``exact_flops``: count ``2n-1`` FLOPs per length-n dot product instead of ``2n``.
    - ``weight_bits``: one bit width for every weight (model size), e.g. 8.
    - ``layer_bits``: per-layer bit widths, ``{"glob-pattern": bits}``; the
      first pattern matching a layer name (fnmatch) wins over ``weight_bits``.
    - ``activation_bits``: bit width of activations (default: each tensor's dtype).
    - ``strict``: fail when any op is unsupported.
    - ``metric_options``: each metric's declared options, ``{metric: {key: value}}``;
      after ``resolve`` every declared option is there, typed, defaults filled in.
    - ``hardware``: options of the hardware models (see docs/hardware.md).

    An option's alias reads as an attribute once resolved: ``options.naive_traffic``
    is ``metric_options["traffic"]["naive_traffic"]``.
    """

    bias: bool = True
    exact_flops: bool = False
    weight_bits: int | None = None
    layer_bits: Mapping[str, int] = field(default_factory=dict)
    activation_bits: int | None = None
    strict: bool = False
    metric_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    hardware: Mapping[str, Any] = field(default_factory=dict)
    aliases: Mapping[str, tuple[str, str]] = field(default_factory=dict, repr=False, compare=False)

    def __getattr__(self, name: str) -> Any:
        """An alias keyword (``naive_traffic``) reads its metric option (only called for unknown attributes)."""
        if not name.startswith("__"):
            target = self.__dict__.get("aliases", {}).get(name)
            if target is not None:
                return self.metric_option(*target)
        raise AttributeError(name)

    def metric_option(self, metric: str, key: str, default: Any = None) -> Any:
        """Metric ``metric``'s option ``key`` (``default`` when not set and not resolved)."""
        return self.metric_options.get(metric, {}).get(key, default)

    def for_metric(self, metric: str) -> dict[str, Any]:
        """All options of ``metric`` (every declared one once resolved)."""
        return dict(self.metric_options.get(metric, {}))

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], metrics: Iterable[Metric] | None = None) -> AnalysisOptions:
        """Build from ``analyze(**options)``; an unknown keyword is a UsageError.

        Besides the fields: ``options`` (``{"metric.key": value}`` or ``{metric: {key: value}}``),
        ``"metric.key"`` keywords themselves, and each declared option's alias keyword. ``metrics`` are the loaded metrics (default: the
        built-in plugin set's) whose options are checked (``resolve``).
        """
        if metrics is None:
            from analyzer.core.plugins import default_plugins

            metrics = default_plugins().metrics.values()
        metrics = list(metrics)
        aliases = {o.alias: (m.name, o.name) for m in metrics for o in m.options if o.alias}
        known = {f.name for f in fields(cls)} - {"aliases"}
        chosen: dict[str, dict[str, Any]] = {}
        direct: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in aliases:
                metric, name = aliases[key]
                chosen.setdefault(metric, {})[name] = value
            elif key in ("options", "metric_options"):
                for metric, values in _nested(value).items():
                    chosen.setdefault(metric, {}).update(values)
            elif key in known:
                direct[key] = value
            elif "." in key:  # analyze(**{"traffic.naive_traffic": True})
                for metric, values in _nested({key: value}).items():
                    chosen.setdefault(metric, {}).update(values)
            else:
                listed = ", ".join(sorted(known | set(aliases) | {"options"}))
                raise UsageError(f"unknown option {key!r}; known options: {listed}")
        opts = cls(**direct, metric_options=chosen)
        for name in ("weight_bits", "activation_bits"):
            v = getattr(opts, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
                raise UsageError(f"{name} must be a positive integer, got {v!r}")
        return opts.resolve(metrics)

    def resolve(self, metrics: Iterable[Metric]) -> AnalysisOptions:
        """Check ``metric_options`` against what ``metrics`` declare, parse each value to its
        type and fill in the defaults; one-line UsageError naming the valid keys otherwise."""
        declared = {m.name: {o.name: o for o in m.options} for m in metrics}
        given = _nested(self.metric_options)
        for metric, values in given.items():
            options = declared.get(metric)
            if not options:
                having = ", ".join(f"{m} ({', '.join(o)})" for m, o in declared.items() if o) or "none"
                raise UsageError(f"metric option {metric}.{next(iter(values), '?')}: no loaded metric {metric!r} "
                                 f"declares options; metrics with options: {having}")  # fmt: skip
            for key in values:
                if key not in options:
                    raise UsageError(f"metric option {metric}.{key}: metric {metric!r} has no option {key!r}; "
                                     f"its options: {', '.join(options)}")  # fmt: skip
        resolved = {
            metric: {key: opt.parse(given.get(metric, {}).get(key, opt.default), metric) for key, opt in options.items()}
            for metric, options in declared.items() if options
        }  # fmt: skip
        aliases = {o.alias: (m, o.name) for m, options in declared.items() for o in options.values() if o.alias}
        return dataclasses.replace(self, metric_options=resolved, aliases=aliases)

    def to_dict(self) -> dict[str, Any]:
        """The report's ``options``: every field, and each alias with its value (``naive_traffic``...)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "aliases"}
        d = {k: ({m: dict(v) for m, v in v.items()} if k == "metric_options" else dict(v) if isinstance(v, Mapping) else v)
             for k, v in d.items()}  # fmt: skip
        d.update((alias, self.metric_option(*target)) for alias, target in self.aliases.items())
        return d


def _nested(values: Any) -> dict[str, dict[str, Any]]:
    """``{"metric.key": v}`` and ``{"metric": {"key": v}}`` (mixed) -> ``{metric: {key: v}}``."""
    if not isinstance(values, Mapping):
        raise UsageError(f"metric options must be a mapping of 'metric.key' to values, got {type(values).__name__}")
    out: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out.setdefault(str(key), {}).update(value)
            continue
        metric, dot, name = str(key).partition(".")
        if not dot or not metric or not name:
            raise UsageError(f"metric option {key!r}: expected METRIC.KEY")
        out.setdefault(metric, {})[name] = value
    return out


def parse_assignment(text: str) -> tuple[str, str]:
    """``METRIC.KEY=VALUE`` (the CLI's ``--option``) -> (``METRIC.KEY``, ``VALUE``)."""
    key, eq, value = text.partition("=")
    metric, dot, name = key.strip().partition(".")
    if not eq or not dot or not metric or not name:
        raise UsageError(f"--option: expected METRIC.KEY=VALUE, got {text!r}")
    return f"{metric}.{name}", value.strip()


