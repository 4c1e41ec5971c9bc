"""Per-ModelDeployment series kept as plain numbers and turned into metric families at scrape time.

prometheus_client keeps every labelled series as a child object with its own lock and value holder: about
600 bytes a series, and a ModelDeployment has some twenty (seven of them the one-hot phase): 13 KB an
object, 13 MB at N = 1,000, the largest cost per object the operator had (tracemalloc). Here a series is
one dictionary entry under its object and a one-hot gauge stores only the value that is hot (1.9 KB an
object); forgetting a deleted object is one ``pop``, with no list of label values kept for removal.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

RES = ("namespace", "name")
Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class Family:
    """One metric whose series are per resource: ``labels`` beyond namespace and name. A ``one_hot``
    gauge has one more label taking each of these values, 1 for the current one and 0 for the rest."""

    name: str
    doc: str
    counter: bool = False
    labels: tuple[str, ...] = ()
    one_hot: tuple[str, ...] = ()
    hot_label: str = ""


class ResourceSeries:
    """The store and its collector (register it on a ``CollectorRegistry``)."""

    def __init__(self, families: Iterable[Family]) -> None:
        self.families = tuple(families)
        self._values: dict[Key, dict[tuple[Family, tuple[str, ...]], float | str]] = {}
        self._lock = threading.Lock()

    def inc(self, family: Family, namespace: str, name: str, *labels: str, by: float = 1.0) -> None:
        with self._lock:
            series = self._values.setdefault((namespace, name), {})
            previous = series.get((family, labels), 0.0)
            series[(family, labels)] = float(previous) + by

    def put(self, family: Family, namespace: str, name: str, *labels: str, value: float | str) -> None:
        """``value`` is the hot label value for a one-hot family, a number otherwise."""
        with self._lock:
            self._values.setdefault((namespace, name), {})[(family, labels)] = value

    def labels_of(self, family: Family, namespace: str, name: str) -> frozenset[tuple[str, ...]]:
        with self._lock:
            return frozenset(labels for (f, labels) in self._values.get((namespace, name), {}) if f is family)

    def remove(self, family: Family, namespace: str, name: str, *labels: str) -> None:
        with self._lock:
            series = self._values.get((namespace, name))
            if series is not None:
                series.pop((family, labels), None)

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._values.pop((namespace, name), None)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            snapshot = [(key, list(series.items())) for key, series in self._values.items()]
        out: dict[Family, CounterMetricFamily | GaugeMetricFamily] = {}
        for f in self.families:
            names = [*RES, *f.labels, *([f.hot_label] if f.one_hot else [])]
            out[f] = (CounterMetricFamily if f.counter else GaugeMetricFamily)(f.name, f.doc, labels=names)
        for (namespace, name), series in snapshot:
            for (f, labels), value in series:
                if f.one_hot:
                    for choice in f.one_hot:
                        out[f].add_metric([namespace, name, *labels, choice], 1.0 if choice == value else 0.0)
                else:
                    out[f].add_metric([namespace, name, *labels], float(value))
        yield from out.values()
