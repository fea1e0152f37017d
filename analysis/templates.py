"""Online log template mining: masking, then clustering of messages of the same shape.

`TemplateMiner.add(message)` returns the id of the cluster the message belongs to, creating one
when no cluster matches. A cluster's template shows its variable positions as `<*>`. One default
configuration serves every kind of log.

How it decides what is variable:

1. Masking (`analysis.mask`) turns whatever looks like a value (numbers, addresses, ids, paths,
   dates, sizes, empty values, anything with a digit in it) into `<*>`.
2. A message joins a cluster when it has the same number of tokens and equals the template at
   every constant position. Words are *not* generalised by similarity alone: `cupsd startup
   succeeded` and `cupsd shutdown succeeded` are different events.
3. A position made of words becomes variable once `distinct_values` (default 3) different words
   have been seen there with everything else equal (user names, host names without digits),
   or once a masked value and a word have been seen there. The clusters concerned are merged
   into the oldest; their ids stay valid and `resolve(id)` gives the id they were merged into.
   The first token usually names the event: it is generalised from words only in messages
   with at least `min_constants_first` (5) other constant tokens (`chrome.exe - <*> open
   through proxy <*> HTTPS`), never in short ones (`cupsd startup succeeded`).
4. Safety valves for hostile input: a (length, first token) group that grows past
   `crowded_clusters` falls back to Drain's rule (join the most similar template when at least
   half of its constant tokens match), and the least recently used clusters are forgotten past
   `max_clusters`.

The state is plain data: `to_dict()` / `from_dict()` give a versioned, JSON-ready map.
"""

from __future__ import annotations

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
    last_used: int = 0

    @property
    def template(self) -> str:
        return " ".join(self.tokens)


@dataclass(slots=True)
class MinerConfig:
    """Settings of the miner; the defaults are meant for every kind of log."""

    distinct_values: int = 3  # distinct words at one position that make it a variable
    max_tokens: int = 200  # tokens beyond this are folded into one trailing <*>
    min_constants_first: int = 5  # constant tokens needed before a first word may vary
    crowded_clusters: int = 32  # clusters of one length and first token before similarity merging
    crowded_similarity: float = 0.5  # share of constant tokens to match in a crowded group
    max_clusters: int = 50_000  # live clusters kept; the least recently used are forgotten
    cache_entries: int = 100_000  # masked messages remembered for a fast exact lookup

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


Key = tuple[int, str]


def _covers(template: list[str], tokens: list[str]) -> bool:
    """True if `tokens` equals `template` at every constant position."""
    return all(t in (WILDCARD, m) for t, m in zip(template, tokens, strict=True))


class TemplateMiner:
    """Assigns messages to templates, one message at a time. Not thread-safe."""

    def __init__(self, config: MinerConfig | None = None) -> None:
        self.config = config or MinerConfig()
        self._by_id: dict[int, Cluster] = {}  # live clusters, in creation order
        self._alias: dict[int, int] = {}  # merged cluster id -> id it was merged into
        self._groups: dict[Key, list[Cluster]] = {}  # (length, first token or <*>) -> clusters
        self._firsts: dict[int, set[str]] = {}  # length -> first tokens present
        self._cache: dict[tuple[str, ...], int] = {}
        self._next_id = 1
        self._tick = 0
        self._changed: set[int] = set()  # ids whose template changed or that were merged

    # -- public API --------------------------------------------------------------------------

    @property
    def clusters(self) -> list[Cluster]:
        """Live clusters, in creation order."""
        return list(self._by_id.values())

    def tokenize(self, message: str) -> list[str]:
        """The masked tokens the miner works on."""
        tokens = mask_message(message)
        limit = self.config.max_tokens
        if len(tokens) > limit:
            tokens = tokens[: limit - 1] + [WILDCARD]
        return tokens

    def add(self, message: str) -> int:
        """Assign `message` to a cluster (creating or merging as needed); return the cluster id."""
        return self.add_tokens(self.tokenize(message))

    def add_tokens(self, tokens: list[str]) -> int:
        """`add` for a message that is already masked and split."""
        self._tick += 1
        key = tuple(tokens)
        cached = self._cache.get(key)
        cluster = None if cached is None else self._by_id.get(self.resolve(cached))
        if cluster is None:
            cluster = self._find(tokens) or self._place(tokens)
            if len(self._cache) >= self.config.cache_entries:
                self._cache.clear()
            self._cache[key] = cluster.id
        cluster.count += 1
        cluster.last_used = self._tick
        if len(self._by_id) > self.config.max_clusters:
            self._evict()
        return cluster.id

    def match(self, message: str) -> int | None:
        """The id of the cluster `message` belongs to, without changing anything."""
        tokens = self.tokenize(message)
        cached = self._cache.get(tuple(tokens))
        if cached is not None and self.resolve(cached) in self._by_id:
            return self.resolve(cached)
        cluster = self._find(tokens)
        return None if cluster is None else cluster.id

    def pop_changes(self) -> set[int]:
        """Ids of the clusters whose template changed or that were merged since the last call."""
        changed, self._changed = self._changed, set()
        return changed

    def resolve(self, cluster_id: int) -> int:
        """The live id of a cluster: itself, or the cluster it was merged into."""
        while cluster_id in self._alias:
            cluster_id = self._alias[cluster_id]
        return cluster_id

    def template(self, cluster_id: int) -> str:
        """The current template of a cluster (following merges). KeyError if forgotten."""
        return self._by_id[self.resolve(cluster_id)].template

    def templates(self) -> list[tuple[int, str, int]]:
        """(id, template, count) of every live cluster, in creation order."""
        return [(c.id, c.template, c.count) for c in self._by_id.values()]

    # -- clustering --------------------------------------------------------------------------

    @staticmethod
    def _key(tokens: list[str]) -> Key:
        return (len(tokens), tokens[0] if tokens else "")

    def _candidates(self, tokens: list[str]) -> list[Cluster]:
        n = len(tokens)
        own = self._groups.get(self._key(tokens), [])
        if tokens and tokens[0] != WILDCARD:
            return own + self._groups.get((n, WILDCARD), [])
        return own

    def _find(self, tokens: list[str]) -> Cluster | None:
        """The most specific cluster whose template matches every constant position."""
        best: Cluster | None = None
        best_wild = len(tokens)  # a template of only <*> matches nothing but itself
        for cluster in self._candidates(tokens):
            if cluster.tokens == tokens:
                return cluster
            wild = 0
            for t, m in zip(cluster.tokens, tokens, strict=True):
                if t == WILDCARD:
                    wild += 1
                elif t != m:
                    break
            else:
                if wild < best_wild:
                    best, best_wild = cluster, wild
        return best

    def _place(self, tokens: list[str]) -> Cluster:
        """Create a cluster for an unmatched message, merging siblings when a position varies."""
        candidates = self._candidates(tokens)
        if len(self._groups.get(self._key(tokens), ())) >= self.config.crowded_clusters:
            similar = self._most_similar(candidates, tokens)
            if similar is not None:
                return self._merge([similar], tokens, -1)
        siblings: dict[int, list[Cluster]] = {}
        pool = candidates
        constants = sum(1 for t in tokens[1:] if t != WILDCARD)
        if tokens and tokens[0] != WILDCARD and constants >= self.config.min_constants_first:
            n = len(tokens)
            pool = [c for first in self._firsts.get(n, ()) for c in self._groups[(n, first)]]
        for cluster in pool:
            diff = -1
            for i, (t, m) in enumerate(zip(cluster.tokens, tokens, strict=True)):
                if t != WILDCARD and t != m:
                    if diff >= 0:
                        break
                    diff = i
            else:
                if diff > 0 or (diff == 0 and constants >= self.config.min_constants_first):
                    siblings.setdefault(diff, []).append(cluster)
        for position, group in sorted(siblings.items(), key=lambda kv: -len(kv[1])):
            values = {c.tokens[position] for c in group}
            values.add(tokens[position])
            if len(values) >= self.config.distinct_values:
                return self._merge(group, tokens, position)
        cluster = self._new(tokens)
        if WILDCARD in tokens:
            return self._merge([cluster], tokens, -1)
        return cluster

    def _most_similar(self, candidates: list[Cluster], tokens: list[str]) -> Cluster | None:
        best: Cluster | None = None
        best_score = -1.0
        for cluster in candidates:
            same = constants = 0
            for t, m in zip(cluster.tokens, tokens, strict=True):
                if t != WILDCARD:
                    constants += 1
                    same += t == m
            score = same / constants if constants else 0.0
            if score > best_score:
                best, best_score = cluster, score
        if best is not None and best_score >= self.config.crowded_similarity:
            return best
        return None

    def _new(self, tokens: list[str]) -> Cluster:
        cluster = Cluster(id=self._next_id, tokens=list(tokens), last_used=self._tick)
        self._next_id += 1
        self._index(cluster)
        return cluster

    def _index(self, cluster: Cluster) -> None:
        self._by_id[cluster.id] = cluster
        key = self._key(cluster.tokens)
        self._groups.setdefault(key, []).append(cluster)
        self._firsts.setdefault(key[0], set()).add(key[1])

    def _unindex(self, cluster: Cluster) -> None:
        key = self._key(cluster.tokens)
        group = self._groups.get(key, [])
        group[:] = [c for c in group if c is not cluster]
        if not group:
            self._groups.pop(key, None)
            self._firsts.get(key[0], set()).discard(key[1])

    def _merge(self, group: list[Cluster], tokens: list[str], position: int) -> Cluster:
        """Generalise `group` and the message `tokens` into one template (`<*>` at `position`
        and wherever they differ), then fold every cluster that template covers into the oldest.
        """
        template = list(tokens)
        if position >= 0:
            template[position] = WILDCARD
        for other in group:
            for i, t in enumerate(other.tokens):
                if t != template[i]:
                    template[i] = WILDCARD
        if all(t == WILDCARD for t in template):
            return group[-1] if position < 0 else self._new(tokens)
        n = len(template)
        if template[0] == WILDCARD:
            pool = [c for first in self._firsts.get(n, ()) for c in self._groups[(n, first)]]
        else:
            pool = self._groups.get((n, template[0]), [])
        members = [c for c in pool if _covers(template, c.tokens)]
        if not members:
            return self._new(template)
        survivor = min(members, key=lambda c: c.id)
        if survivor.tokens != template or len(members) > 1:
            self._changed.update(c.id for c in members)
        self._unindex(survivor)
        survivor.tokens = template
        for other in members:
            if other is not survivor:
                self._unindex(other)
                del self._by_id[other.id]
                self._alias[other.id] = survivor.id
                survivor.count += other.count
                survivor.last_used = max(survivor.last_used, other.last_used)
        self._index(survivor)  # an existing key keeps its place: creation order holds
        return survivor

    def _evict(self) -> None:
        """Forget the least recently used quarter of the clusters."""
        ordered = sorted(self._by_id.values(), key=lambda c: c.last_used)
        for cluster in ordered[: max(1, len(ordered) // 4)]:
            self._unindex(cluster)
            del self._by_id[cluster.id]
        self._alias = {k: v for k, v in self._alias.items() if self.resolve(v) in self._by_id}
        self._cache.clear()

    # -- state -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The miner's state as JSON-ready data (versioned)."""
        return {
            "version": STATE_VERSION,
            "config": self.config.to_dict(),
            "next_id": self._next_id,
            "tick": self._tick,
            "clusters": [[c.id, c.tokens, c.count, c.last_used] for c in self._by_id.values()],
            "aliases": [[k, v] for k, v in self._alias.items()],
        }

    @classmethod
    def from_dict(cls, data: Any) -> TemplateMiner:
        """Rebuild a miner from `to_dict()` output. ValueError if the data is not such a state."""
        version = data.get("version") if isinstance(data, dict) else None
        if version != STATE_VERSION:
            raise ValueError(f"template miner state version {version!r} not supported")
        try:
            known = set(MinerConfig.__slots__)  # type: ignore[attr-defined]
            cfg = {k: v for k, v in dict(data.get("config", {})).items() if k in known}
            miner = cls(MinerConfig(**cfg))
            for cid, tokens, count, last_used in data["clusters"]:
                miner._index(
                    Cluster(
                        id=int(cid),
                        tokens=[str(t) for t in tokens],
                        count=int(count),
                        last_used=int(last_used),
                    )
                )
            miner._alias = {int(k): int(v) for k, v in data.get("aliases", [])}
            miner._next_id = int(data["next_id"])
            miner._tick = int(data.get("tick", 0))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed template miner state: {exc!r}") from None
        return miner
