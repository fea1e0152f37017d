"""Online log template mining: masking, then clustering of similar messages (Drain-like).

`TemplateMiner.add(message)` returns the id of the cluster the message belongs to, creating one
when no cluster is similar enough. A cluster's template is its messages' common tokens with the
positions where they differ shown as `<*>`. One default configuration serves every kind of log.

Clustering: messages are masked (`analysis.mask`) and split into tokens; candidate clusters are
those with the same number of tokens and the same first token (a variable first token matches
any). The most similar candidate wins if enough of its constant tokens equal the message's.

The state is plain data: `to_dict()` / `from_dict()` give a versioned JSON-ready map.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from analysis.mask import WILDCARD, mask_message

STATE_VERSION = 1


@dataclass(slots=True)
class Cluster:
    """A group of messages sharing one template."""

    id: int
    tokens: list[str]
    count: int = 0

    @property
    def template(self) -> str:
        return " ".join(self.tokens)


@dataclass(slots=True)
class MinerConfig:
    """Settings of the miner; the defaults are meant for every kind of log."""

    similarity: float = 0.5  # share of a template's constant tokens a message must match
    max_clusters_per_bucket: int = 0  # 0 = no limit


class TemplateMiner:
    """Assigns messages to templates, one message at a time."""

    def __init__(self, config: MinerConfig | None = None) -> None:
        self.config = config or MinerConfig()
        self.clusters: list[Cluster] = []
        self._by_id: dict[int, Cluster] = {}
        self._buckets: dict[tuple[int, str], list[Cluster]] = {}
        self._exact: dict[tuple[str, ...], Cluster] = {}
        self._next_id = 1

    # -- public API --------------------------------------------------------------------------

    def add(self, message: str) -> int:
        """Assign `message` to a cluster (creating one if needed) and return the cluster id."""
        tokens = mask_message(message)
        cluster = self._match(tokens)
        if cluster is None:
            cluster = self._create(tokens)
        else:
            self._merge(cluster, tokens)
        cluster.count += 1
        return cluster.id

    def match(self, message: str) -> int | None:
        """The id of the cluster `message` would join, without changing anything."""
        cluster = self._match(mask_message(message))
        return None if cluster is None else cluster.id

    def template(self, cluster_id: int) -> str:
        """The current template of a cluster."""
        return self._by_id[cluster_id].template

    def templates(self) -> list[tuple[int, str, int]]:
        """(id, template, count) of every cluster, in creation order."""
        return [(c.id, c.template, c.count) for c in self.clusters]

    # -- clustering --------------------------------------------------------------------------

    @staticmethod
    def _bucket_keys(tokens: list[str]) -> list[tuple[int, str]]:
        first = tokens[0] if tokens else ""
        if first == WILDCARD:
            return [(len(tokens), WILDCARD)]
        return [(len(tokens), first), (len(tokens), WILDCARD)]

    def _candidates(self, tokens: list[str]) -> Iterable[Cluster]:
        for key in self._bucket_keys(tokens):
            yield from self._buckets.get(key, ())

    def _match(self, tokens: list[str]) -> Cluster | None:
        exact = self._exact.get(tuple(tokens))
        if exact is not None:
            return exact
        best: Cluster | None = None
        best_score = (-1.0, -1)
        for cluster in self._candidates(tokens):
            score = self._similarity(cluster.tokens, tokens)
            if score is None:
                continue
            if score > best_score:
                best, best_score = cluster, score
        if best is not None and best_score[0] >= self.config.similarity:
            return best
        return None

    @staticmethod
    def _similarity(template: list[str], tokens: list[str]) -> tuple[float, int] | None:
        """(share of the template's constant tokens equal to the message's, wildcards)."""
        same = constants = wild = 0
        for t, m in zip(template, tokens, strict=True):
            if t == WILDCARD:
                wild += 1
                continue
            constants += 1
            if t == m:
                same += 1
        if constants == 0:
            return (1.0, wild)
        return (same / constants, wild)

    def _merge(self, cluster: Cluster, tokens: list[str]) -> None:
        changed = False
        for i, (t, m) in enumerate(zip(cluster.tokens, tokens, strict=True)):
            if t != m and t != WILDCARD:
                cluster.tokens[i] = WILDCARD
                changed = True
        if changed:
            self._exact[tuple(cluster.tokens)] = cluster

    def _create(self, tokens: list[str]) -> Cluster:
        cluster = Cluster(id=self._next_id, tokens=list(tokens))
        self._next_id += 1
        self._register(cluster)
        return cluster

    def _register(self, cluster: Cluster) -> None:
        self.clusters.append(cluster)
        self._by_id[cluster.id] = cluster
        key = (len(cluster.tokens), cluster.tokens[0] if cluster.tokens else "")
        self._buckets.setdefault(key, []).append(cluster)
        self._exact.setdefault(tuple(cluster.tokens), cluster)

    # -- state -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The miner's state as JSON-ready data (versioned)."""
        return {
            "version": STATE_VERSION,
            "config": {"similarity": self.config.similarity},
            "next_id": self._next_id,
            "clusters": [[c.id, c.tokens, c.count] for c in self.clusters],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TemplateMiner:
        """Rebuild a miner from `to_dict()` output."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"template miner state version {data.get('version')!r} not supported")
        miner = cls(MinerConfig(similarity=float(data["config"]["similarity"])))
        for cid, tokens, count in data["clusters"]:
            miner._register(Cluster(id=int(cid), tokens=[str(t) for t in tokens], count=int(count)))
        miner._next_id = int(data["next_id"])
        return miner
