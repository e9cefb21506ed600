"""The account-event container and the IP country of sessions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from claimwatch.sample_data.generator.identifiers import _choice
from claimwatch.sample_data.generator.reference import _TRAVEL_IP

# ============================================================================ event container


@dataclass
class EventLog:
    m: list = field(default_factory=list)
    t: list = field(default_factory=list)
    typ: list = field(default_factory=list)
    val: list = field(default_factory=list)
    ch: list = field(default_factory=list)
    ip: list = field(default_factory=list)

    def add(self, m, t, typ, val, ch, ip):
        m = np.atleast_1d(np.asarray(m, np.int64))
        n = len(m)

        def b(x, dt=None):
            a = np.asarray(x, dtype=dt) if dt else np.asarray(x, dtype=object)
            return np.broadcast_to(a, (n,)).copy() if a.ndim == 0 else a

        self.m.append(m)
        self.t.append(b(t, np.int64))
        self.typ.append(b(typ, np.int64))
        self.val.append(b(val))
        self.ch.append(b(ch, np.int64))
        self.ip.append(b(ip))

    def arrays(self):
        return (
            np.concatenate(self.m),
            np.concatenate(self.t),
            np.concatenate(self.typ),
            np.concatenate(self.val),
            np.concatenate(self.ch),
            np.concatenate(self.ip),
        )


def _web_ip(rng, n: int, travel: float = 0.04) -> np.ndarray:
    u = rng.random(n)
    ip = np.where(u < 0.08, "", "FR").astype(object)
    tr = u > 1 - travel
    ip[tr] = _choice(rng, _TRAVEL_IP, int(tr.sum()))
    return ip


def _channel_ip(rng, ch: np.ndarray, travel: float = 0.04) -> np.ndarray:
    ip = _web_ip(rng, len(ch), travel)
    ip[ch >= 2] = ""
    return ip
