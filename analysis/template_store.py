"""Template ids in PostgreSQL: the thin I/O shell around the in-process template miner.

`assign_templates(conn, events)` sets `event.template_id` for a batch. The miner runs in this
process; the ids come from the `log_templates` table, keyed by the template text, so every
process and every collector gets the same id for the same template:

- a template this process has not stored yet is upserted (`INSERT ... ON CONFLICT (template)
  DO UPDATE ... RETURNING id`), one statement per batch for all of them; known ids are cached;
- `events` and `last_seen` are updated once per template per batch (counts aggregated in Python);
  rows are touched in template order so concurrent batches cannot deadlock;
- when the miner generalises a template (a position found to be variable), the old row gets
  `merged_into` = the new row's id; stored events keep their id and readers group by
  `coalesce(merged_into, id)`;
- on first use the miner is seeded with the current templates from the table (most recently
  seen first, up to `seed_limit`), so a new process continues where the others are.

Call it outside the transaction that COPYs the batch (or accept that the template rows stay
locked until that transaction ends). With `count=False` it only assigns ids, and the caller
counts with `count_templates` in the transaction that stores the batch, once it knows the
batch is new: the workers do this, so a batch delivered twice is counted once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from analysis.templates import TemplateMiner
from logship.records import Event

MAX_TEMPLATE_BYTES = 2000  # a btree index entry must stay well under PostgreSQL's ~2.7 kB limit
ELLIPSIS = " <...>"

_UPSERT = """
INSERT INTO log_templates AS t (template, events, first_seen, last_seen)
SELECT u.template, u.n, now(), now()
FROM unnest($1::text[], $2::bigint[]) AS u(template, n)
ORDER BY u.template
ON CONFLICT (template) DO UPDATE
    SET events = t.events + EXCLUDED.events, last_seen = now()
RETURNING id, template
"""

_COUNT = """
UPDATE log_templates AS t SET events = t.events + u.n, last_seen = now()
FROM (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS x(id, n) ORDER BY id) AS u
WHERE t.id = u.id
"""

_MERGE = """
UPDATE log_templates SET merged_into = $2
WHERE (id = $1 OR merged_into = $1) AND id <> $2
"""

_SEED = """
SELECT id, template FROM log_templates
WHERE merged_into IS NULL
ORDER BY last_seen DESC, id DESC
LIMIT $1
"""


def clip_template(template: str) -> str:
    """The template as stored: at most MAX_TEMPLATE_BYTES of UTF-8 (cut ones end in `<...>`)."""
    raw = template.encode("utf-8")
    if len(raw) <= MAX_TEMPLATE_BYTES:
        return template
    cut = raw[: MAX_TEMPLATE_BYTES - len(ELLIPSIS)].decode("utf-8", errors="ignore")
    return cut + ELLIPSIS


class TemplateStore:
    """One process's miner and its cache of database ids."""

    def __init__(
        self,
        miner: TemplateMiner | None = None,
        *,
        seed_limit: int = 20_000,
        cache_entries: int = 200_000,
    ) -> None:
        self.miner = miner or TemplateMiner()
        self.seed_limit = seed_limit
        self.cache_entries = cache_entries
        self._seeded = False
        self._ids: dict[str, int] = {}  # stored template text -> log_templates.id
        self._stored: dict[int, str] = {}  # miner cluster id -> template text stored for it

    async def seed(self, conn: Any) -> int:
        """Load the current templates into the miner; returns how many were loaded."""
        rows = await conn.fetch(_SEED, self.seed_limit)
        for row in reversed(rows):  # oldest first, as they were created
            cid = self.miner.add(row["template"])
            text = clip_template(self.miner.template(cid))
            self._ids.setdefault(row["template"], row["id"])
            if text == row["template"]:
                self._stored[cid] = text
        for cluster in self.miner.clusters:
            cluster.count = 0  # seeding is not traffic
        self.miner.pop_changes()
        self._seeded = True
        return len(rows)

    async def assign(self, conn: Any, events: list[Event], *, count: bool = True) -> None:
        """Set `template_id` on every event of a batch (see the module doc); `count=False`
        leaves `events` and `last_seen` to `count_templates`."""
        if not events:
            return
        if not self._seeded:
            await self.seed(conn)
        # Miner work is synchronous (no await in between), so coroutines sharing this store
        # never see a half-updated miner.
        cids: list[int] = []
        at_add: dict[int, str] = {}  # template when first met in this batch (if later forgotten)
        for event in events:
            cid = self.miner.add(event.message)
            cids.append(cid)
            if cid not in at_add:
                at_add[cid] = self.miner.template(cid)
        changed = self.miner.pop_changes()
        texts: dict[int, str] = {}
        for cid in set(cids) | changed:
            try:
                texts[cid] = clip_template(self.miner.template(cid))
            except KeyError:  # forgotten (max_clusters) since: keep what it was
                if cid in at_add:
                    texts[cid] = clip_template(at_add[cid])
        counts = Counter(texts[cid] for cid in cids) if count else Counter()

        unknown = sorted({t for t in texts.values() if t not in self._ids})
        if unknown:
            n = [counts.get(t, 0) for t in unknown]
            for row in await conn.fetch(_UPSERT, unknown, n):
                self._ids[row["template"]] = row["id"]
        fresh = set(unknown)
        known = sorted((self._ids[t], c) for t, c in counts.items() if t not in fresh and c)
        if known:
            await conn.execute(_COUNT, [i for i, _ in known], [c for _, c in known])

        # Rows of templates the miner generalised point at the template they became.
        for cid in sorted(changed & texts.keys()):
            old_text = self._stored.get(cid)
            new_text = texts[cid]
            if old_text is not None and old_text != new_text and old_text in self._ids:
                await conn.execute(_MERGE, self._ids[old_text], self._ids[new_text])
        for cid, text in texts.items():
            self._stored[cid] = text
        for event, cid in zip(events, cids, strict=True):
            event.template_id = self._ids[texts[cid]]
        if len(self._ids) > self.cache_entries:
            self._ids.clear()
            self._stored.clear()
            self._seeded = False


_default = TemplateStore()


def forget_templates() -> None:
    """Forget this process's miner and cached ids (after the database was changed or replaced)."""
    global _default
    _default = TemplateStore()


async def assign_templates(conn: Any, events: list[Event], *, count: bool = True) -> None:
    """Set `event.template_id` for a batch, with ids from `log_templates` (see module doc)."""
    await _default.assign(conn, events, count=count)


async def count_templates(conn: Any, template_ids: list[int | None]) -> None:
    """Add a stored batch's events to `log_templates.events` and `last_seen` (rows in id
    order, so concurrent batches cannot deadlock); ids that are None are skipped."""
    counts = Counter(i for i in template_ids if i is not None)
    if counts:
        known = sorted(counts.items())
        await conn.execute(_COUNT, [i for i, _ in known], [c for _, c in known])
