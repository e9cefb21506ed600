"""Synthetic claimwatch inbox: French complementary-health members, account events, claim lines,
breach list and fraud labels, following the data contract v1 (shared/DATA_CONTRACT.md).

Everything is vectorised (numpy / polars). Python loops only run over the handful of care types,
breaches and fraud incidents, never over members or claim lines.

Modelling choices worth knowing when reading the data:

* ``members.csv`` is the snapshot at extraction time (``end``): postcode, e-mail, phone and IBAN
  are the *current* values, so a victim whose IBAN was not restored still carries the fraudster's
  IBAN. ``account_events.csv`` holds the history (``new_value`` of every change) over start..end.
* amounts follow 2025 tariffs: GP consultation 30 EUR, RO 70 % minus the 2 EUR participation
  forfaitaire (adults; not claimed from the complementary); pharmacy 65/30/15 %; dental, optical
  and hearing at 60 % of low RO bases (0.05 EUR for class-B glasses, 400 EUR per hearing aid,
  120 EUR per crown); hospital forfait journalier 20 EUR/day and the 24 EUR forfait (claimed from
  the complementary); osteopathy and other alternative medicine RO 0.
* ``claimed_amount`` = billed - RO share before the 2 EUR participation (+ the 24 EUR forfait).
* provider ids: RPPS = ``10`` + 8 digits + Luhn key (11 digits); FINESS = department (2A/2B and
  97x kept) + digits + Luhn key computed with 2A/2B read as ``20`` (9 chars); alternative-medicine
  practitioners ADELI: department + profession code + serial, 9 digits, no check key. A few
  legitimate FINESS / RPPS providers carry a bad key.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

__all__ = ["generate_inbox", "SCENARIOS"]

# fmt: off
SCENARIOS = ("ato_iban", "mule_ring", "contact_hijack", "fake_provider", "duplicate")
CATEGORIES = ("consultation", "pharmacy", "lab", "imaging", "hospital", "dental", "optical",
              "hearing", "paramedical", "alternative_medicine")
SOURCES = ("noemie", "tiers_payant", "member_upload", "paper")
EVENT_TYPES = ("iban_change", "email_change", "phone_change", "address_change", "password_reset",
               "login_new_device")
CHANNELS = ("web", "app", "phone", "mail", "agency")
EVENT_CODE = {name: i for i, name in enumerate(EVENT_TYPES)}

_EPOCH = date(1970, 1, 1)
_DAY = 86_400
_NEG = -(2**62)

# ------------------------------------------------------------------------------- departments
# code:population in thousands (approximate INSEE figures), used as sampling weights
_DEPTS = [(c, int(p)) for c, p in (x.split(":") for x in """
01:660 02:530 03:335 04:165 05:141 06:1100 07:330 08:270 09:155 10:310 11:375 12:280 13:2050
14:700 15:145 16:350 17:660 18:300 19:240 2A:160 2B:185 21:535 22:605 23:115 24:415 25:545
26:520 27:600 28:430 29:920 30:750 31:1420 32:190 33:1650 34:1200 35:1100 36:215 37:610 38:1280
39:260 40:420 41:330 42:765 43:228 44:1450 45:680 46:175 47:330 48:76 49:820 50:495 51:565
52:170 53:307 54:735 55:183 56:760 57:1045 58:200 59:2610 60:830 61:278 62:1460 63:665 64:690
65:230 66:480 67:1150 68:770 69:1900 70:233 71:550 72:565 73:440 74:840 75:2130 76:1250
77:1430 78:1450 79:375 80:570 81:390 82:260 83:1080 84:560 85:690 86:440 87:370 88:360 89:335
90:140 91:1300 92:1630 93:1650 94:1410 95:1250 971:385 972:360 973:290 974:870 976:300
""".split())]
D_CODE = np.array([c for c, _ in _DEPTS])
D_W = np.array([p for _, p in _DEPTS], dtype=float)
D_W /= D_W.sum()
ND = len(_DEPTS)
_IDX = {c: i for i, c in enumerate(D_CODE)}
D_DOM = np.array([len(c) == 3 for c in D_CODE])
D_PC_BASE = np.array([20000 if c in ("2A", "2B") else (int(c) * 100 if len(c) == 3 else int(c) * 1000)
                      for c in D_CODE], dtype=np.int64)
D_NUM = np.array([20 if c in ("2A", "2B") else int(c[:2]) for c in D_CODE], dtype=np.int64)
# numeric prefix used for FINESS / ADELI payloads (97x keeps its third digit)
D_REG = np.array([int(c) if len(c) == 3 else (20 if c in ("2A", "2B") else int(c)) for c in D_CODE],
                 dtype=np.int64)
# telephone zones (01 Ile-de-France, 02 north-west, 03 north-east, 04 south-east, 05 south-west)
_ZONE = {1: "75 77 78 91 92 93 94 95", 2: "14 27 50 61 76 22 29 35 56 44 49 53 72 85 18 28 36 37 41 45",
         3: "02 08 10 21 25 39 51 52 54 55 57 58 59 60 62 67 68 70 71 80 88 89 90",
         5: "09 12 16 17 19 23 24 31 32 33 40 46 47 64 65 79 81 82 86 87"}
D_ZONE = np.full(ND, 4, dtype=np.int64)
for _z, _codes in _ZONE.items():
    for _c in _codes.split():
        D_ZONE[_IDX[_c]] = _z
D_ZONE[D_DOM] = 9
_DOM_LAND = {"971": 590, "972": 596, "973": 594, "974": 262, "976": 269}
_DOM_MOB = {"971": (690, 691), "972": (696, 697), "973": (694, 694), "974": (692, 693),
            "976": (639, 639)}
TOURIST = np.array([_IDX[c] for c in "06 83 17 33 29 56 85 2A 2B 74 73 64 34 66 40 44 13".split()])
BORDER = {"67": ("CH", "DE"), "68": ("CH", "DE"), "57": ("LU", "DE"), "54": ("LU", "LU"),
          "74": ("CH", "CH"), "01": ("CH", "CH"), "25": ("CH", "CH"), "90": ("CH", "CH"),
          "06": ("MC", "MC"), "59": ("BE", "BE")}

# ------------------------------------------------------------------------------------- names
_FN = {
    ("F", 0): "Monique Jacqueline Françoise Michèle Nicole Danielle Colette Simone Denise Josiane "
              "Christiane Yvette Odette Paulette Ginette Jeannine Suzanne Marie Madeleine Andrée Annie "
              "Martine Chantal Geneviève Huguette Lucienne Marcelle Bernadette Arlette Claudine",
    ("M", 0): "Jean Michel André Pierre Claude Jacques Bernard Gérard René Roger Marcel Robert Daniel "
              "Alain Guy Henri Maurice Georges Raymond Jean-Pierre Jean-Claude Jean-Marie Christian "
              "Serge Roland Lucien Gilbert Louis Paul Yves",
    ("F", 1): "Nathalie Isabelle Sylvie Catherine Valérie Sandrine Christine Véronique Stéphanie "
              "Céline Aurélie Laurence Virginie Karine Sophie Émilie Julie Caroline Audrey Élodie "
              "Delphine Corinne Patricia Florence Anne Mélanie Hélène Marie Laetitia Samira",
    ("M", 1): "Philippe Thierry Pascal Éric Patrick Frédéric Laurent Stéphane Olivier Christophe "
              "Sébastien Nicolas David Julien Jérôme Franck Vincent Cédric Guillaume Arnaud Fabrice "
              "Mickaël Grégory Jean-François Bruno Didier Karim Mohamed Emmanuel Ludovic",
    ("F", 2): "Léa Manon Chloé Camille Emma Jade Inès Sarah Louise Lina Alice Clara Zoé Lola Juliette "
              "Anaïs Mathilde Océane Pauline Marine Léna Rose Ambre Mila Anna Lou Yasmine Maëlys "
              "Romane Charlotte",
    ("M", 2): "Lucas Hugo Thomas Théo Nathan Louis Gabriel Léo Raphaël Arthur Jules Adam Maël Noah "
              "Enzo Mathis Tom Paul Sacha Nolan Ethan Antoine Alexandre Maxime Quentin Kevin Axel "
              "Yanis Rayan Clément",
}
_EXTRA_LAST = ("Nguyen", "Le Gall", "Le Goff", "Le Roux", "Schmitt", "Meyer", "Haddad", "Benali",
               "Mansouri", "Diallo", "Traoré", "N'Diaye", "Ferreira", "Pereira", "Rossi", "Bianchi",
               "Kowalski", "Ben Salah", "Hoarau", "Payet", "Grondin", "Rivière", "Santoni", "Colonna")
_NICK = ("loulou", "titi", "nounours", "soleil", "papillon", "zizou", "kiki", "doudou", "chouchou",
         "bichette", "lapin", "tigrou", "cocotte", "mimi", "nono", "poupette", "lili", "fifi", "jojo",
         "boubou", "pitchoun", "bzh", "corsica", "marseille", "ch-ti", "ptitloup", "gamer", "moto",
         "rando", "velo", "surf", "jardin", "peche", "olive", "lavande", "mistral")
_DOM_OLD = np.array(["orange.fr", "wanadoo.fr", "laposte.net", "free.fr", "sfr.fr", "gmail.com",
                     "hotmail.fr", "yahoo.fr", "neuf.fr", "aol.com"])
_DOM_OLD_W = np.array([0.22, 0.14, 0.11, 0.10, 0.07, 0.17, 0.07, 0.07, 0.03, 0.02])
_DOM_YNG = np.array(["gmail.com", "hotmail.fr", "outlook.fr", "yahoo.fr", "icloud.com", "orange.fr",
                     "free.fr", "live.fr", "sfr.fr", "laposte.net", "hotmail.com", "protonmail.com"])
_DOM_YNG_W = np.array([0.44, 0.11, 0.07, 0.06, 0.06, 0.07, 0.05, 0.04, 0.03, 0.03, 0.03, 0.01])
_DOM_FRAUD = np.array(["gmail.com", "outlook.com", "proton.me", "yahoo.com", "gmx.fr", "hotmail.com",
                       "outlook.fr", "mail.com"])
_DOM_FRAUD_W = np.array([0.35, 0.15, 0.12, 0.1, 0.08, 0.08, 0.07, 0.05])

# ------------------------------------------------------------------------------------- banks
# BNP 30004, SG 30003, LCL 30002, CIC/CM 10278, Banque Postale 20041, Caisses d'Epargne,
# Crédit Agricole regional banks, BRED 10107, Banques Populaires ...
BANK_TRAD = np.array([30004, 30003, 30002, 10278, 20041, 11315, 13335, 18206, 17515, 10107, 13306,
                      12506, 19106, 14706, 16006, 11006, 10907, 13825, 15135, 12548])
BANK_TRAD_W = np.array([13, 12, 8, 10, 10, 4, 4, 5, 4, 4, 4, 3, 3, 3, 3, 3, 3, 2, 2, 2], dtype=float)
# Boursorama, Nickel, Qonto, Fortuneo, Revolut (FR), Shine
BANK_ONLINE = np.array([40618, 16598, 16958, 14518, 28233, 17418])
BANK_ONLINE_W = np.array([30, 22, 10, 14, 18, 6], dtype=float)
_FOREIGN_BANKS = {  # country: (bank codes, bank code length, account length)
    "CH": ([235, 762, 9000, 700, 80808, 788, 767], 5, 12),
    "LU": ([1, 2, 3, 14, 9], 3, 13),
    "DE": ([10010010, 50010517, 10011001, 37040044, 68050101, 66050101, 50070024, 12030000], 8, 10),
    "LT": ([32500, 35000, 73000, 70440, 40100], 5, 11),
    "MC": ([12739, 30004, 30003, 18079], 5, 0),  # French RIB layout, handled like FR
}
_BE_BANKS = np.array([1, 1, 63, 68, 310, 340, 363, 410, 450, 651, 679, 735])
_ES_BANKS = np.array([49, 182, 2100, 81, 1465, 128, 2085, 239])
_NL_BANKS = ("BUNQ", "KNAB", "INGB", "ABNA", "RABO", "REVO")

# -------------------------------------------------------------------------------- care model
# provider types (pools per department)
GP, SPEC, DENT, PHYSIO, NURSE, PARAMED, ALT, PHARM, LAB, IMG, HOSP, OPTIC, AUDIO = range(13)
NPT = 13
PT_KIND = np.array(["rpps"] * 6 + ["adeli"] + ["finess", "finess", "rpps", "finess", "finess", "finess"])
# ADELI profession codes of the practitioners registered there (ostéopathes, psychologues,
# chiropracteurs, psychothérapeutes)
ADELI_PROFESSION_CODES = np.array([93, 96, 95, 73])
PT_RATIO = np.array([0.08, 0.08, 0.04, 0.04, 0.03, 0.02, 0.03, 0.04, 0.01, 0.015, 0.006, 0.02, 0.01])
PT_MIN = np.array([2, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1])

# episode types
(E_GP, E_SPEC, E_REFILL, E_LAB, E_IMG, E_DCARE, E_DPROS, E_OPT, E_HEAR, E_PHYSIO, E_NURSE, E_ALT,
 E_HOSP, E_SPEECH) = range(14)
NET = 14
# episodes / year by age group (0-5, 6-17, 18-39, 40-59, 60-74, 75+)
_RATES = np.array([
    [5.0, 2.5, 2.3, 2.8, 3.8, 5.2],         # gp
    [1.0, 0.6, 0.9, 1.3, 2.0, 2.2],         # specialist
    [0.2, 0.2, 0.4, 1.5, 4.0, 6.0],         # chronic pharmacy refill
    [0.2, 0.2, 0.6, 1.0, 1.8, 2.2],         # lab
    [0.1, 0.2, 0.3, 0.5, 0.7, 0.7],         # imaging
    [0.3, 0.9, 0.8, 0.9, 0.9, 0.6],         # dental care
    [0.0, 0.0, 0.04, 0.12, 0.18, 0.14],     # dental prosthesis
    [0.05, 0.35, 0.3, 0.4, 0.5, 0.5],       # optical
    [0.0, 0.0, 0.002, 0.006, 0.035, 0.08],  # hearing
    [0.02, 0.08, 0.2, 0.25, 0.3, 0.3],      # physio series
    [0.01, 0.01, 0.03, 0.05, 0.15, 0.4],    # nurse series
    [0.3, 0.3, 0.8, 0.7, 0.4, 0.15],        # alternative medicine
    [0.15, 0.1, 0.15, 0.15, 0.3, 0.5],      # hospital / emergency
    [0.02, 0.12, 0.01, 0.005, 0.01, 0.02],  # speech therapy / orthoptics series
]).T
# mean claim lines per episode (for volume calibration)
_LINES = np.array([2.45, 1.6, 3.25, 2.6, 1.2, 1.7, 1.2, 2.75, 1.75, 9.0, 10.0, 1.4, 1.8, 12.0])
# source probabilities per category (noemie, tiers_payant, member_upload, paper)
_SRC_P = np.array([
    [0.86, 0.08, 0.04, 0.02], [0.06, 0.92, 0.015, 0.005], [0.30, 0.68, 0.015, 0.005],
    [0.70, 0.27, 0.02, 0.01], [0.08, 0.85, 0.04, 0.03], [0.55, 0.30, 0.12, 0.03],
    [0.10, 0.72, 0.15, 0.03], [0.05, 0.60, 0.27, 0.08], [0.82, 0.12, 0.04, 0.02],
    [0.0, 0.0, 0.80, 0.20]])

# act codes (NGAP, CCAM, NABM, LPP, CIP13); lines store an index into _ACTS
_ACTS: list[str] = []
_A: dict[str, int] = {}


def _act(code: str) -> int:
    if code not in _A:
        _A[code] = len(_ACTS)
        _ACTS.append(code)
    return _A[code]


for _c in "G GS TCG VG CS APC CSC AMK AMI AMO AMY FPU GHS FJ CP OST CHI ACU ETI DIE PSY SOP".split():
    _act(_c)
_LAB_CODES = np.array([_act(c) for c in
                       "1104 0552 1208 0996 0593 1806 7335 4332 1610 0126 0323 1577".split()])
_LAB_BASE = np.array([1080, 270, 1970, 1350, 540, 810, 2430, 1620, 1890, 650, 405, 3240])
_IMG = (("ZBQK002", 2128), ("QEQK004", 6642), ("LFQK002", 3990), ("ZCQM004", 5670), ("ACQN001", 6900),
        ("MZQK002", 1995), ("NAQK015", 2394), ("ZCQJ005", 5216))
_IMG_CODES = np.array([_act(c) for c, _ in _IMG])
_IMG_BASE = np.array([b for _, b in _IMG])
_IMG_W = np.array([0.25, 0.1, 0.15, 0.15, 0.08, 0.1, 0.1, 0.07])
_DC = (("HBJD001", 2892, 0.38), ("HBMD049", 4020, 0.3), ("HBGD036", 3344, 0.1), ("HBQK002", 2128, 0.22))
_DC_CODES = np.array([_act(c) for c, _, _ in _DC])
_DC_BASE = np.array([b for _, b, _ in _DC])
_DC_W = np.array([w for _, _, w in _DC])
_CROWNS = np.array([_act("HBLD038"), _act("HBLD634"), _act("HBLD036")])
_OPT = {k: _act(v) for k, v in (("frame_b", "2210546"), ("frame_child", "2223342"),
                                 ("frame_a", "2251041"), ("lens_a", "2242457"), ("single", "2203240"),
                                 ("single2", "2227038"), ("prog", "2258372"), ("prog2", "2280660"))}
_HEAR_II = _act("2355084")
_HEAR_I = _act("2335791")
_ALT_CODES = np.array([_A[c] for c in ("OST", "CHI", "ACU", "ETI", "DIE", "PSY", "SOP")])
_ALT_W = np.array([0.6, 0.08, 0.06, 0.05, 0.06, 0.1, 0.05])
_ALT_MED = np.array([60, 55, 50, 55, 45, 60, 50]) * 100


def _drug_pool(n: int = 420) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed pool of reimbursable drugs: CIP13 (34009 + 7 digits + EAN-13 key), price, RO rate."""
    r = np.random.default_rng(20250101)
    body = 3400900000000 // 10 + r.choice(10**7, n, replace=False)  # 12 digits: 34009xxxxxxx
    d = (body[:, None] // 10 ** np.arange(11, -1, -1)) % 10
    key = (10 - (d * np.tile([1, 3], 6)).sum(1) % 10) % 10
    codes = np.array([_act(str(c)) for c in body * 10 + key])
    price = np.clip(np.round(np.exp(np.log(650) + 0.95 * r.standard_normal(n))), 120, 45000)
    rate = r.choice([0.65, 0.30, 0.15], n, p=[0.62, 0.25, 0.13])
    return codes, price.astype(np.int64), rate


_DRUG_CODE, _DRUG_PRICE, _DRUG_RATE = _drug_pool()

# ---------------------------------------------------------------------------------- breaches
_BREACHES = (
    # name, date, share of the population, {type: prob}, population, phone format, e-mail style
    ("isp-customers-2025-09", date(2025, 9, 18), 0.10, {"email": 0.95, "phone": 0.85, "iban": 0.55},
     "adult", 2, 0),
    ("tiers-payant-operator-2025-10", date(2025, 10, 7), 0.12, {"nir": 1.0}, "household", 0, 0),
    ("sports-federation-2025-10", date(2025, 10, 27), 0.05, {"email": 0.9, "phone": 0.8}, "young", 4, 1),
    ("pharmacy-portal-2025-11", date(2025, 11, 14), 0.07, {"email": 1.0, "phone": 0.7, "nir": 0.45},
     "adult", 0, 3),
    ("teleconsultation-2025-12", date(2025, 12, 2), 0.08, {"email": 1.0, "phone": 0.8, "nir": 0.6},
     "adult", 1, 1),
)
_FRAUD_IP = np.array(["", "FR", "NG", "CI", "MA", "RO", "LT", "NL", "DE", "BE", "ES", "GB", "US", "UA",
                      "SN", "BJ", "CM", "TN"])
_FRAUD_IP_W = np.array([30, 22, 7, 6, 6, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1], dtype=float)
# where people move to (their new bank's country and their sessions' country)
MOVE_ABROAD_COUNTRIES = np.array(["ES", "BE", "DE", "CH", "LU", "NL"])
MOVE_ABROAD_WEIGHTS = np.array([0.3, 0.2, 0.15, 0.15, 0.1, 0.1])
# account event types by name (the events container stores their index in EVENT_TYPES)
_TRAVEL_IP = np.array(["ES", "BE", "IT", "PT", "CH", "DE", "GB", "MA", "US", "TN", "NL"])
# fmt: on


def _slug(s: str) -> str:
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in s if ch.isalnum() or ch == "-")


def _name_pools() -> dict:
    """Small name pools (Faker's fr_FR lists plus cohort-specific first names)."""
    from faker.providers.person.fr_FR import Provider

    last = list(dict.fromkeys(list(Provider.last_names) + list(_EXTRA_LAST)))
    lw = 1.0 / (np.arange(len(last)) + 8.0)
    pools = {"last": np.array(last, dtype=object), "last_w": lw / lw.sum()}
    pools["last_slug"] = np.array([_slug(x).replace("-", "") for x in last], dtype=object)
    for sex, extra in (("M", Provider.first_names_male), ("F", Provider.first_names_female)):
        for coh in range(3):
            base = _FN[(sex, coh)].split()
            names = list(dict.fromkeys(base + [x for x in extra if x not in base]))
            w = np.where(np.arange(len(names)) < len(base), 1.0 / (np.arange(len(names)) + 4.0), 0.004)
            pools[(sex, coh)] = np.array(names, dtype=object)
            pools[(sex, coh, "w")] = w / w.sum()
            pools[(sex, coh, "slug")] = np.array([_slug(x) for x in names], dtype=object)
    return pools


# =============================================================================== small helpers


def _day(d: date) -> int:
    return (d - _EPOCH).days


def _S(a) -> pl.Series:
    """String Series from an array that may hold None (polars infers object arrays badly)."""
    return pl.Series(np.asarray(a, dtype=object).tolist(), dtype=pl.String)


def _zf(a, width: int) -> pl.Series:
    return pl.Series(np.asarray(a, dtype=np.int64)).cast(pl.String).str.zfill(width)


def _cat_str(*parts) -> np.ndarray:
    """Concatenate string Series / scalars element-wise -> numpy object array."""
    n = max(len(p) for p in parts if not isinstance(p, str))
    cols = [pl.Series([p] * n) if isinstance(p, str) else pl.Series(p).cast(pl.String) for p in parts]
    df = pl.DataFrame({f"c{i}": c for i, c in enumerate(cols)})
    return df.select(pl.concat_str(pl.all())).to_series().to_numpy().astype(object)


def _luhn_key(payload: np.ndarray, ndig: int) -> np.ndarray:
    d = (payload[:, None] // 10 ** np.arange(ndig, dtype=np.int64)) % 10  # d[:, 0] = rightmost
    dbl = np.arange(ndig) % 2 == 0
    v = np.where(dbl, d * 2, d)
    v = np.where(v > 9, v - 9, v)
    return (10 - v.sum(1) % 10) % 10


def _lognorm(rng, median, sigma, n) -> np.ndarray:
    return np.exp(np.log(median) + sigma * rng.standard_normal(n))


def _choice(rng, values, n, p=None):
    p = None if p is None else np.asarray(p, dtype=float) / np.sum(p)
    return np.asarray(values)[rng.choice(len(values), n, p=p)]


def _mod97(groups, n: int) -> np.ndarray:
    r = np.zeros(n, dtype=np.int64)
    for v, nd in groups:
        r = (r * 10**nd + v) % 97
    return r


def _cc_num(cc: str) -> int:
    return (ord(cc[0]) - 55) * 100 + (ord(cc[1]) - 55)


def _ibans(rng, country: str, n: int, banks=None, bank_w=None) -> np.ndarray:
    """Valid IBANs (mod-97, plus national keys for FR/MC RIB, BE and ES)."""
    if n == 0:
        return np.array([], dtype=object)
    if country in ("FR", "MC"):
        if banks is None:
            banks, bank_w = np.array(_FOREIGN_BANKS["MC"][0]), None
        bank = _choice(rng, banks, n, bank_w).astype(np.int64)
        branch = rng.integers(10, 9999, n)
        acct = rng.integers(0, 10**11, n)
        key = 97 - (89 * bank + 15 * branch + 3 * acct) % 97
        groups = [(bank, 5), (branch, 5), (acct, 11), (key, 2)]
    elif country == "BE":
        bank = _choice(rng, _BE_BANKS, n)
        acct = rng.integers(0, 10**7, n)
        chk = (bank * 10**7 + acct) % 97
        groups = [(bank, 3), (acct, 7), (np.where(chk == 0, 97, chk), 2)]
    elif country == "ES":
        bank = _choice(rng, _ES_BANKS, n)
        branch = rng.integers(1, 9999, n)
        acct = rng.integers(0, 10**10, n)
        w = np.array([1, 2, 4, 8, 5, 10, 9, 7, 3, 6])

        def dc(v):
            dd = (v[:, None] // 10 ** np.arange(9, -1, -1)) % 10
            c = (dd * w).sum(1) % 11
            return np.where(c < 2, c, 11 - c)

        groups = [
            (bank, 4),
            (branch, 4),
            (dc(bank * 10**4 + branch) * 10 + dc(acct), 2),
            (acct, 10),
        ]
    elif country == "NL":
        bank = rng.integers(0, len(_NL_BANKS), n)
        bank_num = np.array([int("".join(str(ord(c) - 55) for c in b)) for b in _NL_BANKS])[bank]
        acct = rng.integers(10**8, 10**10, n)
        r = _mod97([(bank_num, 8), (acct, 10), (_cc_num("NL"), 4), (0, 2)], n)
        return _cat_str("NL", _zf(98 - r, 2), pl.Series(np.array(_NL_BANKS)[bank]), _zf(acct, 10))
    else:
        codes, blen, alen = _FOREIGN_BANKS[country]
        bank = _choice(rng, codes, n).astype(np.int64)
        acct = rng.integers(0, 10**alen, n)
        groups = [(bank, blen), (acct, alen)]
    r = _mod97(groups + [(_cc_num(country), 4), (0, 2)], n)
    return _cat_str(country, _zf(98 - r, 2), *[_zf(np.broadcast_to(v, n), nd) for v, nd in groups])


def _fr_ibans(rng, n: int, online_share: float) -> np.ndarray:
    online = rng.random(n) < online_share
    out = np.empty(n, dtype=object)
    out[~online] = _ibans(rng, "FR", int((~online).sum()), BANK_TRAD, BANK_TRAD_W)
    out[online] = _ibans(rng, "FR", int(online.sum()), BANK_ONLINE, BANK_ONLINE_W)
    return out


def _fraud_ibans(rng, n: int) -> np.ndarray:
    kind = _choice(
        rng,
        np.array(["FR_ONLINE", "LT", "ES", "DE", "BE", "NL", "FR_TRAD"]),
        n,
        [0.33, 0.2, 0.1, 0.14, 0.07, 0.1, 0.06],
    )
    out = np.empty(n, dtype=object)
    for k in np.unique(kind):
        sel = kind == k
        m = int(sel.sum())
        if k == "FR_ONLINE":
            out[sel] = _ibans(rng, "FR", m, BANK_ONLINE, BANK_ONLINE_W)
        elif k == "FR_TRAD":
            out[sel] = _ibans(rng, "FR", m, BANK_TRAD, BANK_TRAD_W)
        elif k == "DE":  # mostly N26
            out[sel] = _ibans(rng, "DE", m)
        else:
            out[sel] = _ibans(rng, str(k), m)
    return out


def _postcodes(rng, dept: np.ndarray) -> np.ndarray:
    n = len(dept)
    code = D_CODE[dept]
    u = rng.random(n)
    a = rng.integers(1, 10, n)
    b = np.where(rng.random(n) < 0.45, 0, rng.integers(0, 10, n))
    c = np.where(rng.random(n) < 0.85, 0, rng.integers(1, 10, n))
    suf = np.where(u < 0.2, 0, a * 100 + b * 10 + c)
    m = code == "75"
    suf[m] = np.where(rng.random(m.sum()) < 0.04, 116, rng.integers(1, 21, m.sum()))
    m = (code == "69") & (u < 0.3)
    suf[m] = rng.integers(1, 10, m.sum())
    m = (code == "13") & (u < 0.45)
    suf[m] = rng.integers(1, 17, m.sum())
    m = code == "2A"
    suf[m] = _choice(
        rng,
        [0, 90, 100, 110, 111, 114, 117, 118, 129, 137, 140, 166, 167, 169, 170],
        m.sum(),
        [30, 15, 6, 6, 4, 4, 4, 4, 4, 5, 4, 4, 4, 3, 3],
    )
    m = code == "2B"
    suf[m] = _choice(
        rng,
        [200, 600, 220, 250, 260, 213, 217, 230, 240, 218, 290, 620],
        m.sum(),
        [30, 15, 7, 6, 7, 5, 5, 5, 6, 4, 6, 4],
    )
    m = D_DOM[dept]
    suf[m] = np.where(
        u[m] < 0.3,
        0,
        rng.integers(1, 10, m.sum()) * 10
        + np.where(rng.random(m.sum()) < 0.6, 0, rng.integers(1, 10, m.sum())),
    )
    return _zf(D_PC_BASE[dept] + suf, 5).to_numpy().astype(object)


def _phones(rng, dept: np.ndarray, landline: np.ndarray, young: np.ndarray | None = None) -> np.ndarray:
    """National significant numbers (9 digits, no leading 0), e.g. 612345678."""
    n = len(dept)
    seven = rng.random(n) < (0.25 if young is None else np.where(young, 0.5, 0.18))
    six = rng.integers(0, 89_000_000, n)  # 0600..0688: 0639 and 069x are overseas ranges
    six = np.where(six // 1_000_000 == 39, six + 1_000_000, six)
    mob = np.where(seven, 700_000_000 + rng.integers(30_000_000, 100_000_000, n), 600_000_000 + six)
    land = D_ZONE[dept].clip(1, 5) * 100_000_000 + rng.integers(0, 100_000_000, n)
    num = np.where(landline, land, mob)
    for code, (p1, p2) in _DOM_MOB.items():
        m = D_CODE[dept] == code
        k = int(m.sum())
        if k:
            pre = np.where(landline[m], _DOM_LAND[code], np.where(rng.random(k) < 0.5, p1, p2))
            num[m] = pre * 1_000_000 + rng.integers(0, 1_000_000, k)
    return num


def _fmt_phone(num: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    """0 0612345678 | 1 06 12 34 56 78 | 2 +33612345678 | 3 06.12.34.56.78 | 4 0033612345678 |
    5 +33 6 12 34 56 78. Overseas numbers are only written in national formats (0, 1, 3)."""
    dom = (num // 1_000_000) >= 590
    fmt = np.where(dom & np.isin(fmt, [2, 4, 5]), 1, fmt)
    s = pl.col("s")
    sp = [s.str.slice(i, 2) for i in (0, 2, 4, 6, 8)]
    df = pl.DataFrame({"s": ("0" + _zf(num, 9)), "f": fmt})
    out = df.select(
        pl.when(pl.col("f") == 1)
        .then(pl.concat_str(sp, separator=" "))
        .when(pl.col("f") == 2)
        .then(pl.lit("+33") + s.str.slice(1))
        .when(pl.col("f") == 3)
        .then(pl.concat_str(sp, separator="."))
        .when(pl.col("f") == 4)
        .then(pl.lit("0033") + s.str.slice(1))
        .when(pl.col("f") == 5)
        .then(pl.concat_str([pl.lit("+33"), s.str.slice(1, 1), *sp[1:]], separator=" "))
        .otherwise(s)
    ).to_series()
    return out.to_numpy().astype(object)


def _fmt_email(email: np.ndarray, style: np.ndarray) -> np.ndarray:
    """0 as is | 1 Jean.Dupont@Gmail.com | 2 UPPER | 3 jean.dupont@GMAIL.COM"""
    df = pl.DataFrame({"e": _S(email), "f": style})
    loc = pl.col("e").str.split_exact("@", 1).struct.field("field_0")
    dom = pl.col("e").str.split_exact("@", 1).struct.field("field_1")
    out = df.select(
        pl.when(pl.col("f") == 1)
        .then(
            pl.concat_str(
                [
                    loc.str.to_titlecase(),
                    pl.lit("@"),
                    dom.str.slice(0, 1).str.to_uppercase(),
                    dom.str.slice(1),
                ]
            )
        )
        .when(pl.col("f") == 2)
        .then(pl.col("e").str.to_uppercase())
        .when(pl.col("f") == 3)
        .then(pl.concat_str([loc, pl.lit("@"), dom.str.to_uppercase()]))
        .otherwise(pl.col("e"))
    ).to_series()
    return out.to_numpy().astype(object)


def _fmt_nir(nir: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    s = pl.col("s")
    parts = [s.str.slice(a, b) for a, b in ((0, 1), (1, 2), (3, 2), (5, 2), (7, 3), (10, 3), (13, 2))]
    df = pl.DataFrame({"s": _S(nir), "f": fmt})
    return (
        df.select(
            pl.when(pl.col("f") == 1)
            .then(pl.concat_str(parts, separator=" "))
            .when(pl.col("f") == 2)
            .then(pl.concat_str([s.str.slice(0, 13), pl.lit(" "), s.str.slice(13)]))
            .otherwise(s)
        )
        .to_series()
        .to_numpy()
        .astype(object)
    )


def _fmt_iban(iban: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    s = pl.col("s")
    parts = [s.str.slice(i, 4) for i in range(0, 36, 4)]
    df = pl.DataFrame({"s": _S(iban), "f": fmt})
    return (
        df.select(
            pl.when(pl.col("f") == 1)
            .then(pl.concat_str(parts, separator=" ").str.strip_chars(" "))
            .otherwise(s)
        )
        .to_series()
        .to_numpy()
        .astype(object)
    )


def _asof(h_m, h_t, h_v, q_m, q_t) -> np.ndarray:
    """Value of a member attribute at given times (history rows: member, time, value)."""
    h = pl.DataFrame({"m": np.asarray(h_m, np.int64), "t": np.asarray(h_t, np.int64), "v": _S(h_v)}).sort("t")
    q = pl.DataFrame(
        {"qi": np.arange(len(q_m)), "m": np.asarray(q_m, np.int64), "t": np.asarray(q_t, np.int64)}
    ).sort("t")
    r = q.join_asof(h, on="t", by="m", strategy="backward", check_sortedness=False).sort("qi")
    return r["v"].to_numpy().astype(object)


def _sec_of_day(rng, n: int, night: float = 0.0) -> np.ndarray:
    w = np.array(
        [
            0.3,
            0.2,
            0.1,
            0.1,
            0.1,
            0.2,
            0.5,
            1.2,
            2,
            2.5,
            2.6,
            2.4,
            2,
            2.2,
            2.4,
            2.4,
            2.3,
            2.3,
            2.5,
            2.8,
            3,
            2.6,
            1.6,
            0.8,
        ]
    )
    w = w / w.sum() * (1 - night) + night / 24
    return rng.choice(24, n, p=w / w.sum()) * 3600 + rng.integers(0, 3600, n)


def _office_sec(rng, n: int) -> np.ndarray:
    return rng.integers(9 * 3600, 18 * 3600, n)


# ============================================================================ event container


@dataclass
class _Events:
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


# ============================================================================== the generator


def generate_inbox(
    out_dir: Path,
    members: int = 5000,
    seed: int = 42,
    *,
    fraud_member_rate: float = 0.005,
    start: date = date(2025, 1, 1),
    end: date = date(2026, 10, 31),
) -> dict[str, int]:
    """Write members.csv, account_events.csv, claims.csv, breach_list.csv, labels.csv into out_dir;
    return row counts per file (and number of fraud incidents per scenario, keys like
    'incidents_ato_iban').

    Deterministic for a seed. About 22 claim lines per member and year of cover. Each scenario gets
    ``max(1, round(members * fraud_member_rate / 8.5))`` incidents (0 if the rate is 0); fake-provider
    incidents need about 180 members or more. Extra keys: ``fraud_claim_lines``,
    ``claim_corrections`` (repeated claim_ids) and ``members_exposed`` (in the breach list).
    labels.csv has one row per distinct claim_id.
    """
    if members < 20:
        raise ValueError("members must be >= 20")
    if end <= start:
        raise ValueError("end must be after start")
    g = _Gen(members, seed, fraud_member_rate, start, end)
    return g.run(Path(out_dir))


class _Gen:
    def __init__(self, n, seed, rate, start, end):
        self.n, self.rate = n, rate
        self.rng = np.random.default_rng(seed)
        self.d0, self.d1 = _day(start), _day(end)
        self.start, self.end = start, end
        self.pools = _name_pools()
        self.ev = _Events()
        self.counts: dict[str, int] = {}

    # ------------------------------------------------------------------------------ members
    def members(self):
        rng, n, d0 = self.rng, self.n, self.d0
        p = np.array([0.42, 0.27, 0.13, 0.13, 0.05])
        sizes = rng.choice(5, n, p=p) + 1
        cs = np.cumsum(sizes)
        nh = int(np.searchsorted(cs, n) + 1)
        sizes = sizes[:nh].copy()
        sizes[-1] -= cs[nh - 1] - n
        hstart = np.cumsum(sizes) - sizes
        hh = np.repeat(np.arange(nh), sizes)
        rank = np.arange(n) - hstart[hh]

        r = rng.random(nh)
        has_sp = (sizes >= 2) & (rng.random(nh) < np.where(sizes == 2, 0.72, 0.85))
        sub_age = np.where(
            sizes >= 3,
            rng.uniform(28, 56, nh),
            np.where(
                sizes == 2,
                np.where(has_sp & (r < 0.6), rng.triangular(60, 72, 95, nh), rng.uniform(25, 58, nh)),
                np.where(r < 0.62, rng.triangular(62, 77, 100, nh), rng.uniform(20, 65, nh)),
            ),
        )
        sub_f = rng.random(nh) < 0.54
        hdept = rng.choice(ND, nh, p=D_W)
        hlast = rng.choice(len(self.pools["last"]), nh, p=self.pools["last_w"])
        # couples with two separate single contracts (same address, name and joint account)
        singles = np.flatnonzero((sizes == 1) & (sub_age > 30) & (sub_age < 90))
        npair = int(len(singles) * 0.03)
        pairs = (
            rng.choice(singles, 2 * npair, replace=False).reshape(2, -1) if npair else np.zeros((2, 0), int)
        )
        a_, b_ = pairs
        hdept[b_] = hdept[a_]
        hlast[b_] = hlast[a_]
        sub_f[b_] = ~sub_f[a_]
        sub_age[b_] = np.clip(sub_age[a_] + rng.normal(0, 3, len(a_)), 25, 99)

        is_sub = rank == 0
        is_sp = (rank == 1) & has_sp[hh]
        is_ch = ~is_sub & ~is_sp
        age = sub_age[hh].copy()
        age[is_sp] = np.clip(sub_age[hh][is_sp] + rng.normal(0, 3.5, is_sp.sum()), 19, 100)
        maxc = np.clip(np.minimum(sub_age - 19, 25), 0.3, 25)
        age[is_ch] = rng.random(is_ch.sum()) * maxc[hh][is_ch]
        fem = np.where(
            is_sub,
            sub_f[hh],
            np.where(is_sp, np.where(rng.random(n) < 0.96, ~sub_f[hh], sub_f[hh]), rng.random(n) < 0.49),
        )
        birth = d0 - np.round(age * 365.25).astype(np.int64)
        # contract start
        new = rng.random(nh) < 0.12
        span = self.d1 - d0
        hcs = np.where(
            new,
            d0 + rng.integers(0, max(1, int(0.8 * span)), nh),
            d0
            - rng.integers(30, np.maximum(31, np.minimum(25 * 365, (sub_age - 18) * 365)).astype(np.int64)),
        )
        cstart = np.maximum(hcs[hh], birth)

        self.hh, self.rank, self.nh, self.hsize = hh, rank, nh, sizes
        self.is_sub, self.is_ch = is_sub, is_ch
        self.age, self.fem, self.birth, self.cstart = age, fem, birth, cstart
        self.dept0 = hdept[hh]
        pcs_h = _postcodes(rng, hdept)
        pcs_h[b_] = pcs_h[a_]
        self.pc0 = pcs_h[hh]

        # names
        sex = np.where(fem, "F", "M")
        byear = 1970 + birth / 365.25
        coh = np.where(byear < 1960, 0, np.where(byear < 1990, 1, 2))
        first = np.empty(n, dtype=object)
        fslug = np.empty(n, dtype=object)
        for s in ("M", "F"):
            for c in range(3):
                m = (sex == s) & (coh == c)
                k = rng.choice(len(self.pools[(s, c)]), m.sum(), p=self.pools[(s, c, "w")])
                first[m] = self.pools[(s, c)][k]
                fslug[m] = self.pools[(s, c, "slug")][k]
        lastk = hlast[hh].copy()
        own_name = is_sp & (rng.random(n) < 0.25)
        lastk[own_name] = rng.choice(len(self.pools["last"]), own_name.sum(), p=self.pools["last_w"])
        self.first, self.fslug = first, fslug
        self.last = self.pools["last"][lastk]
        self.lslug = self.pools["last_slug"][lastk]
        self.sex = sex

        # NIR
        place = rng.random(n)
        bdept = np.where(place < 0.68, self.dept0, rng.choice(ND, n, p=D_W))
        foreign = (place > 0.94) | ((place > 0.90) & (age > 55))
        dom = D_DOM[bdept] & ~foreign
        bdate = np.array(birth, dtype="datetime64[D]")
        yy = bdate.astype("datetime64[Y]").astype(int) + 1970
        mm = bdate.astype("datetime64[M]").astype(int) % 12 + 1
        code = D_CODE[bdept]
        dstr = np.where(dom, "97", code).astype(object)
        dnum = D_NUM[bdept].copy()
        cors = (code == "2A") | (code == "2B")
        old_cors = cors & (yy < 1976)
        dstr[old_cors] = "20"
        dnum[cors & ~old_cors & (code == "2A")] = 19
        dnum[cors & ~old_cors & (code == "2B")] = 18
        commune = rng.integers(1, 700, n)
        paris = code == "75"
        commune[paris] = 100 + rng.integers(1, 21, paris.sum())
        commune[dom] = (D_REG[bdept][dom] % 10) * 100 + rng.integers(1, 35, dom.sum())
        dstr[foreign] = "99"
        dnum[foreign] = 99
        commune[foreign] = _choice(
            rng,
            [350, 352, 351, 139, 127, 134, 109, 131, 208, 341, 326, 335],
            foreign.sum(),
            [16, 16, 8, 14, 8, 7, 4, 4, 6, 6, 6, 5],
        )
        order = rng.integers(1, 1000, n)
        sexd = np.where(fem, 2, 1)
        num = sexd * 10**12 + (yy % 100) * 10**10 + mm * 10**8 + dnum * 10**6 + commune * 1000 + order
        key = 97 - num % 97
        nir = _cat_str(
            _zf(sexd, 1),
            _zf(yy % 100, 2),
            _zf(mm, 2),
            _S(dstr),
            _zf(commune, 3),
            _zf(order, 3),
            _zf(key, 2),
        )
        no_nir = np.where(age < 16, rng.random(n) < 0.55, rng.random(n) < 0.025)
        nir[no_nir] = None
        self.nir = nir

        # e-mail
        has_mail = (age >= 16) & (rng.random(n) < np.where(age < 70, 0.93, np.where(age < 80, 0.75, 0.55)))
        self.email0 = self._emails(np.arange(n), old=age >= 55)
        self.email0[~has_mail] = None
        self.has_mail = has_mail
        # phones
        land = (age >= 15) & (rng.random(n) < np.where(age >= 75, 0.35, np.where(age >= 60, 0.1, 0.02)))
        has_ph = (age >= 15) & (rng.random(n) < 0.95)
        self.phone0 = _phones(rng, self.dept0, land, young=age < 35)
        self.has_phone = has_ph
        # IBAN: subscriber's account shared by the household unless the beneficiary has their own
        sub_iban = _fr_ibans(rng, nh, 0.08)
        sub_iban[b_] = sub_iban[a_]
        self.border = np.zeros(nh, dtype=bool)
        hd_code = D_CODE[hdept]
        for dcode, (c1, c2) in BORDER.items():
            m = np.flatnonzero((hd_code == dcode) & (sub_age > 22) & (sub_age < 63) & (rng.random(nh) < 0.07))
            if len(m):
                ctry = np.where(rng.random(len(m)) < 0.7, c1, c2)
                for c in np.unique(ctry):
                    mm_ = m[ctry == c]
                    sub_iban[mm_] = _ibans(rng, str(c), len(mm_))
                self.border[m] = True
        # protected adults (tutelle / curatelle): reimbursements paid to the guardianship
        # association's account, i.e. one IBAN shared by unrelated members of one department;
        # about a third of them switch to it during the period (a legitimate look-alike of mule rings)
        protected = np.zeros(nh, dtype=bool)
        self.guard_late = []
        singles = np.flatnonzero((sizes == 1) & ~self.border & (sub_age >= 25))
        for _ in range(max(1, n // 8000)):
            cand = singles[(hdept[singles] == rng.choice(ND, p=D_W)) & ~protected[singles]]
            if len(cand) < 3:
                continue
            hs = rng.choice(cand, min(len(cand), int(rng.integers(3, 11))), replace=False)
            acc = _ibans(rng, "FR", 1, np.array([20041, 11315, 13335, 17515, 10278]))[0]
            late = rng.random(len(hs)) < 0.35
            sub_iban[hs[~late]] = acc
            protected[hs] = True
            self.guard_late.append((hstart[hs[late]], acc))
        self.protected = protected[hh]
        own = (is_sp & (rng.random(n) < 0.18)) | (is_ch & (age >= 18) & (rng.random(n) < 0.45))
        iban = sub_iban[hh].copy()
        iban[own] = _fr_ibans(rng, int(own.sum()), 0.25)
        self.iban0, self.own_iban = iban, own
        ids = 10**6 + rng.choice(99 * 10**6, n, replace=False)
        self.member_id = _cat_str("M", _zf(ids, 8))
        sids = 10**6 + rng.choice(99 * 10**6, nh, replace=False)
        self.sub_id = _cat_str("A", _zf(sids, 8))[hh]

    def _emails(self, idx: np.ndarray, old: np.ndarray, variant: int = 0) -> np.ndarray:
        rng = self.rng
        k = len(idx)
        f, ln = self.fslug[idx], self.lslug[idx]
        yy = _zf((1970 + self.birth[idx] // 365) % 100, 2)
        yyyy = (1970 + self.birth[idx] // 365).astype(str)
        nn = rng.integers(1, 999, k).astype(str)
        pat = rng.choice(10, k, p=[0.32, 0.1, 0.08, 0.14, 0.05, 0.05, 0.1, 0.04, 0.06, 0.06])
        if variant:
            pat = (pat + rng.integers(1, 10, k)) % 10
        df = pl.DataFrame(
            {
                "f": _S(f),
                "l": _S(ln),
                "yy": yy,
                "yyyy": pl.Series(yyyy),
                "nn": pl.Series(nn),
                "p": pat,
                "nick": pl.Series(_choice(rng, np.array(_NICK), k)),
            }
        )
        F, L, P = pl.col("f"), pl.col("l"), pl.col("p")
        loc = (
            pl.when(P == 0)
            .then(pl.concat_str([F, L], separator="."))
            .when(P == 1)
            .then(F + L)
            .when(P == 2)
            .then(pl.concat_str([F.str.slice(0, 1), L], separator="."))
            .when(P == 3)
            .then(pl.concat_str([F, L], separator=".") + pl.col("yy"))
            .when(P == 4)
            .then(pl.concat_str([F, L], separator="_"))
            .when(P == 5)
            .then(pl.concat_str([L, F], separator="."))
            .when(P == 6)
            .then(F + L + pl.col("nn"))
            .when(P == 7)
            .then(pl.concat_str([F, L, pl.col("yyyy")], separator="."))
            .when(P == 8)
            .then(F.str.slice(0, 1) + L + pl.col("yy"))
            .otherwise(pl.col("nick") + pl.col("nn"))
        )
        dom = np.where(old, _choice(rng, _DOM_OLD, k, _DOM_OLD_W), _choice(rng, _DOM_YNG, k, _DOM_YNG_W))
        out = df.with_columns(d=pl.Series(dom)).select(pl.concat_str([loc, pl.lit("@"), pl.col("d")]))
        e = out.to_series()
        # de-duplicate homonyms: jean.martin@gmail.com, jean.martin2@gmail.com ...
        d2 = pl.DataFrame({"e": e, "i": np.arange(k)}).with_columns(c=pl.col("i").cum_count().over("e"))
        e = d2.select(
            pl.when(pl.col("c") > 1)
            .then(pl.col("e").str.replace("@", pl.col("c").cast(pl.String) + "@"))
            .otherwise(pl.col("e"))
        ).to_series()
        return e.to_numpy().astype(object)

    # ---------------------------------------------------------------------------- providers
    def providers(self):
        rng = self.rng
        exp_members = np.maximum(D_W * self.n, 1)
        cnt = np.maximum(PT_MIN[:, None], np.ceil(PT_RATIO[:, None] * exp_members[None, :])).astype(np.int64)
        self.p_count = cnt
        self.p_start = (np.cumsum(cnt.ravel()) - cnt.ravel()).reshape(cnt.shape)
        total = int(cnt.sum())
        ptype = np.repeat(np.repeat(np.arange(NPT), ND), cnt.ravel())
        pdept = np.repeat(np.tile(np.arange(ND), NPT), cnt.ravel())
        self.p_type, self.p_dept = ptype, pdept
        self.p_pc = _postcodes(rng, pdept)
        self.p_id = self._provider_ids(ptype, pdept, bad=rng.random(total) < 0.003)
        fac = np.ones(total)
        s2 = (
            ((ptype == SPEC) & (rng.random(total) < 0.45))
            | ((ptype == GP) & (rng.random(total) < 0.08))
            | ((ptype == IMG) & (rng.random(total) < 0.15))
        )
        fac[s2] = np.clip(rng.lognormal(np.log(1.6), 0.25, s2.sum()), 1.15, 3.0)
        self.p_fac = fac
        self.p_gs = rng.random(total) < 0.3
        opend = np.where(
            rng.random(total) < 0.06,
            rng.integers(self.d0 + 30, max(self.d0 + 31, self.d1 - 30), total),
            _NEG,
        )
        opend[self.p_start.ravel()] = _NEG  # the first provider of every pool is always open
        self.p_open = opend

    def _provider_ids(self, ptype, pdept, bad) -> np.ndarray:
        rng = self.rng
        n = len(ptype)
        kind = PT_KIND[ptype]
        out = np.empty(n, dtype=object)
        m = kind == "rpps"
        k = int(m.sum())
        payload = 10 * 10**8 + rng.choice(10**8, k, replace=False)
        key = _luhn_key(payload, 10)
        key = np.where(bad[m], (key + rng.integers(1, 10, k)) % 10, key)
        out[m] = _cat_str(_zf(payload, 10), _zf(key, 1))
        # ADELI (osteopaths, psychologists, other paramedical professions): department +
        # profession code + serial, 9 digits, no check key
        m = kind == "adeli"
        k = int(m.sum())
        if k:
            reg = D_REG[pdept[m]]
            dom = reg > 100
            profession = _choice(rng, ADELI_PROFESSION_CODES, k)
            serial = rng.integers(0, 10**5, k)
            number = np.where(
                dom,
                reg * 10**6 + profession * 10**4 + serial % 10**4,
                reg * 10**7 + profession * 10**5 + serial,
            )
            out[m] = _zf(number, 9).to_numpy().astype(object)
        for kd, mid in (("finess", 0),):
            m = kind == kd
            k = int(m.sum())
            reg = D_REG[pdept[m]]
            dom = reg > 100
            body = rng.choice(10**5, k, replace=False)
            payload = np.where(dom, reg * 10**5 + body, reg * 10**6 + mid * 10**5 + body)
            key = _luhn_key(payload, 8)
            key = np.where(bad[m], (key + rng.integers(1, 10, k)) % 10, key)
            s = _zf(payload, 8).to_numpy().astype(object)
            code = D_CODE[pdept[m]]
            cors = (code == "2A") | (code == "2B")
            s[cors] = _cat_str(_S(code[cors]), _zf(payload[cors] % 10**6, 6)) if cors.any() else s[cors]
            out[m] = _cat_str(_S(s), _zf(key, 1))
        return out

    def _add_provider(self, ptype: int, dept: int, bad: bool) -> int:
        pid = self._provider_ids(np.array([ptype]), np.array([dept]), np.array([bad]))[0]
        self.x_id.append(pid)
        self.x_type.append(ptype)
        self.x_dept.append(dept)
        self.x_pc.append(_postcodes(self.rng, np.array([dept]))[0])
        return len(self.p_type) + len(self.x_id) - 1

    # ---------------------------------------------------------------------------- timelines
    def legit_events(self):
        rng, n, d0, d1 = self.rng, self.n, self.d0, self.d1
        ev = self.ev
        a = np.maximum(self.cstart, d0)
        years = np.maximum(d1 - a, 0) / 365.25
        adult = self.age >= 18
        self.years = years

        def when(m):
            lo = a[m]
            return lo + (rng.random(len(m)) * np.maximum(d1 - lo, 1)).astype(np.int64)

        def stamp(day, ch):
            sec = np.where(ch >= 2, _office_sec(rng, len(day)), _sec_of_day(rng, len(day)))
            return day * _DAY + sec

        # logins from new devices, password resets
        reach = adult & (self.has_mail | self.has_phone)
        for typ, lam, chp in (
            (5, np.where(self.age < 70, 0.45, 0.2), [0.4, 0.6, 0, 0, 0]),
            (4, np.where(self.age < 70, 0.18, 0.22), [0.65, 0.28, 0.07, 0, 0]),
        ):
            k = rng.poisson(lam * years) * reach
            m = np.repeat(np.arange(n), k)
            ch = rng.choice(5, len(m), p=chp)
            ev.add(m, stamp(when(m), ch), typ, "", ch, _channel_ip(rng, ch))

        # e-mail and phone changes (and the password reset people often do after)
        self.mail_chg = np.zeros(n, dtype=bool)
        self.phone_chg = np.zeros(n, dtype=bool)
        self.h_email = [(np.arange(n), np.full(n, _NEG), self.email0)]
        fmt_members = rng.choice(4, n, p=[0.55, 0.25, 0.15, 0.05])
        self.phone_fmt = fmt_members
        ph0 = _fmt_phone(self.phone0, fmt_members)
        ph0[~self.has_phone] = None
        self.h_phone = [(np.arange(n), np.full(n, _NEG), ph0)]
        self.h_iban = [(np.arange(n), np.full(n, _NEG), self.iban0)]
        self.h_pc = [(np.arange(n), np.full(n, _NEG), self.pc0)]
        self.legit_iban_chg = np.zeros(n, dtype=bool)
        for typ in (1, 2):
            has = self.has_mail if typ == 1 else self.has_phone
            m = np.flatnonzero(adult & has & (rng.random(n) < 1 - np.exp(-0.03 * years)))
            ch = rng.choice(5, len(m), p=[0.55, 0.25, 0.12, 0.04, 0.04])
            t = stamp(when(m), ch)
            if typ == 1:
                val = self._emails(m, old=self.age[m] >= 55, variant=1)
                self.h_email.append((m, t, val))
                self.mail_chg[m] = True
            else:
                val = _fmt_phone(
                    _phones(rng, self.dept0[m], np.zeros(len(m), bool), self.age[m] < 35),
                    self.phone_fmt[m],
                )
                self.h_phone.append((m, t, val))
                self.phone_chg[m] = True
            ev.add(m, t, typ, val, ch, _channel_ip(rng, ch))
            # some reset their password a few days later, a few then change their IBAN too
            r = rng.random(len(m))
            f = r < 0.14
            t2 = t[f] + rng.integers(1, 10, f.sum()) * _DAY + rng.integers(-20000, 20000, f.sum())
            ch2 = rng.choice(2, f.sum())
            ev.add(m[f], t2, 4, "", ch2, _channel_ip(rng, ch2, 0.08))
            f2 = f & (r < 0.035) & ~self.border[self.hh[m]] & ~self.legit_iban_chg[m]
            t3 = t[f2] + rng.integers(1, 10, f2.sum()) * _DAY + rng.integers(30000, 150000, f2.sum())
            self._legit_iban_change(m[f2], t3, online=0.5)

        # household IBAN changes (new bank; sometimes an online bank) and individual ones
        for mem, acc in self.guard_late:
            if len(mem):
                ch = rng.choice([3, 4], len(mem), p=[0.7, 0.3])
                t = stamp(when(mem), ch)
                ev.add(mem, t, 0, acc, ch, "")
                self.h_iban.append((mem, t, np.full(len(mem), acc, dtype=object)))
        self.legit_iban_chg |= self.protected
        subs = np.flatnonzero(
            self.is_sub & ~self.legit_iban_chg & (rng.random(n) < 1 - np.exp(-0.04 * years))
        )
        ownm = np.flatnonzero(
            self.own_iban & ~self.legit_iban_chg & (rng.random(n) < 1 - np.exp(-0.03 * years))
        )
        m = np.concatenate([subs, ownm])
        ch = rng.choice(5, len(m), p=[0.45, 0.2, 0.05, 0.2, 0.1])
        t = stamp(when(m), ch)
        self._legit_iban_change(m, t, online=0.3, ch=ch)

        # moves: whole household, new postcode (often another department)
        hm = np.flatnonzero(self.is_sub & (rng.random(n) < 1 - np.exp(-0.025 * years)))
        self.move_day = np.full(n, 10**9, dtype=np.int64)
        self.dept1 = self.dept0.copy()
        if len(hm):
            h = self.hh[hm]
            nd = np.where(rng.random(len(hm)) < 0.4, self.dept0[hm], rng.choice(ND, len(hm), p=D_W))
            pc = _postcodes(rng, nd)
            ch = rng.choice(5, len(hm), p=[0.4, 0.15, 0.15, 0.2, 0.1])
            t = stamp(when(hm), ch)
            hmap = np.full(self.nh, -1)
            hmap[h] = np.arange(len(hm))
            mem = np.flatnonzero(hmap[self.hh] >= 0)
            j = hmap[self.hh[mem]]
            mt = np.maximum(t[j] + rng.integers(0, 90, len(mem)), self.cstart[mem] * _DAY)
            ev.add(mem, mt, 3, pc[j], ch[j], _channel_ip(rng, ch[j]))
            self.h_pc.append((mem, mt, pc[j]))
            self.move_day[mem] = mt // _DAY
            self.dept1[mem] = nd[j]
        self._moves_abroad(when)

    def _moves_abroad(self, when):
        """People moving abroad: sessions from the new country (a new device), then an IBAN at a
        bank of that country set from there, e-mail and phone unchanged; some send an invoice soon
        after. A legitimate look-alike of a takeover."""
        rng, n, ev = self.rng, self.n, self.ev
        cand = np.flatnonzero(
            (self.is_sub | self.own_iban)
            & (self.age >= 20)
            & ~self.legit_iban_chg
            & ~self.border[self.hh]
            & ~self.protected
            & (rng.random(n) < 1 - np.exp(-0.006 * self.years))
        )
        if not len(cand):
            self.moved_abroad = cand
            return
        country = _choice(rng, MOVE_ABROAD_COUNTRIES, len(cand), MOVE_ABROAD_WEIGHTS)
        new = np.empty(len(cand), dtype=object)
        for ctry in np.unique(country):
            sel = country == ctry
            new[sel] = _ibans(rng, str(ctry), int(sel.sum()))
        day = when(cand)
        ch = rng.choice(2, len(cand), p=[0.6, 0.4])
        t = day * _DAY + _sec_of_day(rng, len(cand))
        first_login = rng.random(len(cand)) < 0.8
        ev.add(
            cand[first_login],
            t[first_login] - rng.integers(1, 20, int(first_login.sum())) * _DAY,
            EVENT_CODE["login_new_device"],
            "",
            ch[first_login],
            country[first_login],
        )
        reset = rng.random(len(cand)) < 0.2
        ev.add(
            cand[reset],
            t[reset] - rng.integers(600, 6 * 3600, int(reset.sum())),
            EVENT_CODE["password_reset"],
            "",
            ch[reset],
            country[reset],
        )
        # the account moves with the household members who share it
        share = (~self.own_iban) & ~self.is_sub
        hmap = np.full(self.nh, -1)
        subs = self.is_sub[cand]
        hmap[self.hh[cand[subs]]] = np.flatnonzero(subs)
        relatives = np.flatnonzero(share & (hmap[self.hh] >= 0))
        who = np.concatenate([cand, relatives])
        j = np.concatenate([np.arange(len(cand)), hmap[self.hh[relatives]]])
        tt = np.maximum(
            t[j] + np.where(np.arange(len(j)) < len(cand), 0, rng.integers(60, 3600, len(j))),
            self.cstart[who] * _DAY + 3600,
        )
        ev.add(who, tt, EVENT_CODE["iban_change"], new[j], ch[j], country[j])
        self.h_iban.append((who, tt, new[j]))
        self.legit_iban_chg[who] = True
        self.moved_abroad = who
        upload = rng.random(len(cand)) < 0.4
        if upload.any():
            k = int(upload.sum())
            cday = t[upload] // _DAY
            self.lookalike.append(
                dict(
                    m=cand[upload],
                    day=cday - rng.integers(0, 20, k),
                    et=_choice(rng, [E_OPT, E_DCARE, E_ALT, E_GP], k, [0.3, 0.3, 0.2, 0.2]),
                    src=rng.choice([2, 3], k, p=[0.8, 0.2]),
                    recv=cday + rng.integers(1, 11, k),
                )
            )

    def _legit_iban_change(self, m, t, online, ch=None):
        """A member (and the household members sharing the account) switch to a new bank."""
        rng, ev = self.rng, self.ev
        if len(m) == 0:
            return
        if ch is None:
            ch = rng.choice(5, len(m), p=[0.5, 0.25, 0.05, 0.1, 0.1])
        new = _fr_ibans(rng, len(m), online)
        abroad = rng.random(len(m)) < 0.02
        if abroad.any():
            new[abroad] = np.concatenate(
                [_ibans(rng, str(c), 1) for c in _choice(rng, ["ES", "BE", "DE", "LU"], int(abroad.sum()))]
            )
        # household members sharing the changer's account
        sub_share = self.is_sub[m]
        extra_m, extra_j = [], []
        if sub_share.any():
            share = (~self.own_iban) & ~self.is_sub
            hmap = np.full(self.nh, -1)
            hmap[self.hh[m[sub_share]]] = np.flatnonzero(sub_share)
            mem = np.flatnonzero(share & (hmap[self.hh] >= 0))
            extra_m, extra_j = mem, hmap[self.hh[mem]]
        allm = np.concatenate([m, np.asarray(extra_m, np.int64)])
        j = np.concatenate([np.arange(len(m)), np.asarray(extra_j, np.int64)])
        tt = t[j] + np.where(np.arange(len(j)) < len(m), 0, rng.integers(1, 40, len(j)))
        tt = np.maximum(tt, self.cstart[allm] * _DAY + 3600)
        ev.add(allm, tt, 0, new[j], ch[j], _channel_ip(rng, ch[j], 0.05))
        self.h_iban.append((allm, tt, new[j]))
        self.legit_iban_chg[allm] = True
        # a password reset / new device shortly before (web/app only)
        web = ch < 2
        r = rng.random(len(m))
        f = web & (r < 0.22)
        ev.add(
            m[f],
            t[f] - rng.integers(600, 48 * 3600, f.sum()),
            4,
            "",
            ch[f],
            _channel_ip(rng, ch[f], 0.06),
        )
        f = web & (r > 0.82)
        ev.add(
            m[f],
            t[f] - rng.integers(120, 6 * 3600, f.sum()),
            5,
            "",
            ch[f],
            _channel_ip(rng, ch[f], 0.06),
        )
        # look-alike: an uploaded invoice within days of the change
        f = rng.random(len(m)) < 0.25
        if f.any():
            k = int(f.sum())
            cday = t[f] // _DAY
            self.lookalike.append(
                dict(
                    m=m[f],
                    day=cday - rng.integers(0, 25, k),
                    et=_choice(
                        rng,
                        [E_OPT, E_DPROS, E_ALT, E_HEAR, E_DCARE],
                        k,
                        [0.3, 0.2, 0.3, 0.05, 0.15],
                    ),
                    src=rng.choice([2, 3], k, p=[0.8, 0.2]),
                    recv=cday + rng.integers(1, 11, k),
                )
            )

    # --------------------------------------------------------------------------- breaches
    def breaches(self):
        rng, n = self.rng, self.n
        dates = [b[1] for b in _BREACHES]
        if _day(max(dates)) > self.d1 - 75 or _day(min(dates)) < self.d0 - 400:
            span = self.d1 - self.d0
            bdays = [self.d0 + int(span * f) for f in (0.35, 0.4, 0.45, 0.5, 0.55)]
        else:
            bdays = [_day(d) for d in dates]
        self.bdays = bdays
        self.exp_day = np.full(n, 10**9, dtype=np.int64)
        rows = []
        for (name, _d, share, types, pop, pfmt, estyle), bday in zip(_BREACHES, bdays, strict=True):
            t = bday * _DAY
            alive = self.cstart <= bday + 400
            if pop == "household":
                hsel = rng.random(self.nh) < share
                sel = alive & hsel[self.hh]
            elif pop == "young":
                w = np.where(self.age < 45, 1.6, np.where(self.age < 65, 0.8, 0.25))
                sel = alive & (self.age >= 14) & (rng.random(n) < share * w)
            else:
                sel = alive & (self.age >= 18) & (rng.random(n) < share)
            m = np.flatnonzero(sel)
            got = np.zeros(len(m), bool)
            for typ, prob in types.items():
                take = rng.random(len(m)) < prob
                mm = m[take]
                if typ == "nir":
                    v = self.nir[mm]
                elif typ == "email":
                    v = _asof(*self._hist(self.h_email), mm, np.full(len(mm), t))
                elif typ == "phone":
                    v = _asof(*self._hist(self.h_phone), mm, np.full(len(mm), t))
                else:
                    v = _asof(*self._hist(self.h_iban), mm, np.full(len(mm), t))
                ok = np.array([x is not None for x in v], dtype=bool)
                got[np.flatnonzero(take)[ok]] = True
                v = v[ok]
                # non-members in the same dump
                k = int(len(v) * rng.uniform(1.0, 1.6)) + 5
                nm = self._outsiders(typ, k)
                vals = np.concatenate([v, nm])
                rows.append((typ, vals, name, bday, pfmt, estyle))
            mexp = m[got]
            self.exp_day[mexp] = np.minimum(self.exp_day[mexp], bday)
        # write formatted identifiers
        out = []
        for typ, vals, name, bday, pfmt, estyle in rows:
            k = len(vals)
            if typ == "phone":
                digits = _S(vals).str.replace_all(r"[^0-9+]", "")
                nat = digits.str.replace(r"^\+33", "0").str.replace(r"^0033", "0")
                num = nat.str.slice(1).cast(pl.Int64).to_numpy()
                f = np.where(rng.random(k) < 0.7, pfmt, rng.choice([0, 1, 2, 4], k))
                vals = _fmt_phone(num, f)
            elif typ == "email":
                f = np.where(rng.random(k) < 0.6, estyle, rng.choice(4, k, p=[0.5, 0.3, 0.1, 0.1]))
                vals = _fmt_email(vals, f)
            elif typ == "nir":
                vals = _fmt_nir(vals, rng.choice(3, k, p=[0.6, 0.3, 0.1]))
            else:
                vals = _fmt_iban(vals, rng.choice(2, k, p=[0.6, 0.4]))
            out.append(
                pl.DataFrame(
                    {
                        "identifier_type": [typ] * k,
                        "identifier": _S(vals),
                        "breach_name": [name] * k,
                        "breach_date": pl.Series([bday] * k, dtype=pl.Int32).cast(pl.Date),
                    }
                )
            )
        bl = pl.concat(out)
        bl = (
            bl.with_columns(r=pl.Series(rng.random(bl.height)))
            .sort(["breach_date", "breach_name", "r"])
            .drop("r")
        )
        self.breach_df = bl

    def _outsiders(self, typ: str, k: int) -> np.ndarray:
        rng = self.rng
        if typ == "nir":
            sexd = rng.integers(1, 3, k)
            yy = rng.integers(0, 100, k)
            mm = rng.integers(1, 13, k)
            dept = rng.choice(ND, k, p=D_W)
            dn = np.where(D_DOM[dept], 97, D_NUM[dept])
            dnum = dn.copy()
            cors = np.isin(D_CODE[dept], ["2A", "2B"])
            dstr = np.where(D_DOM[dept], "97", D_CODE[dept])
            dnum[cors] = np.where(D_CODE[dept][cors] == "2A", 19, 18)
            com = rng.integers(1, 700, k)
            order = rng.integers(1, 1000, k)
            num = sexd * 10**12 + yy * 10**10 + mm * 10**8 + dnum * 10**6 + com * 1000 + order
            return _cat_str(
                _zf(sexd, 1),
                _zf(yy, 2),
                _zf(mm, 2),
                _S(dstr),
                _zf(com, 3),
                _zf(order, 3),
                _zf(97 - num % 97, 2),
            )
        if typ == "iban":
            return _fr_ibans(rng, k, 0.15)
        if typ == "phone":
            return _fmt_phone(_phones(rng, rng.choice(ND, k, p=D_W), rng.random(k) < 0.05), np.zeros(k, int))
        coh = rng.integers(0, 3, k)
        sex = np.where(rng.random(k) < 0.5, "F", "M")
        f = np.empty(k, dtype=object)
        for s in ("M", "F"):
            for c in range(3):
                m = (sex == s) & (coh == c)
                f[m] = self.pools[(s, c, "slug")][
                    rng.choice(len(self.pools[(s, c)]), m.sum(), p=self.pools[(s, c, "w")])
                ]
        ln = self.pools["last_slug"][rng.choice(len(self.pools["last"]), k, p=self.pools["last_w"])]
        sep = _choice(rng, np.array([".", "", "_", "-"]), k, [0.6, 0.2, 0.1, 0.1])
        num = np.where(rng.random(k) < 0.45, rng.integers(1, 9999, k).astype(str), "")
        dom = np.where(
            rng.random(k) < 0.5,
            _choice(rng, _DOM_OLD, k, _DOM_OLD_W),
            _choice(rng, _DOM_YNG, k, _DOM_YNG_W),
        )
        return _cat_str(_S(f), pl.Series(sep), _S(ln), pl.Series(num), "@", pl.Series(dom))

    @staticmethod
    def _hist(h):
        return (
            np.concatenate([x[0] for x in h]),
            np.concatenate([x[1] for x in h]),
            np.concatenate([x[2] for x in h]),
        )

    # ---------------------------------------------------------------------------- fraud
    def fraud(self):
        rng, n = self.rng, self.n
        # incidents per scenario: ~fraud_member_rate of members have their account / payout abused
        # (ato, mule ring of ~5.5, hijack, duplicate); fake-provider targets come on top
        k_per = max(1, int(round(n * self.rate / 8.5))) if self.rate > 0 else 0
        fmin = max(self.d0 + 20, min(self.bdays) + 5)
        fmax = self.d1 - 25
        if fmax - fmin < 20:
            fmin = max(self.d0, fmax - 60)
        self.fmin, self.fmax = fmin, fmax
        used = np.zeros(n, dtype=bool)
        adult = self.age >= 20
        clean = ~self.legit_iban_chg & ~self.mail_chg & ~self.phone_chg
        self.fraud_eps = []
        self.x_id, self.x_type, self.x_dept, self.x_pc = [], [], [], []
        inc = {s: 0 for s in SCENARIOS}
        ev = self.ev

        def pick(day, mask, k=1, p_exp=0.85):
            base = mask & ~used & (self.cstart < day - 30)
            w = np.where(self.age >= 65, 1.5, 1.0)
            exp = np.flatnonzero(base & (self.exp_day <= day - 2))
            oth = np.flatnonzero(base & (self.exp_day > day - 2))
            ne = min(len(exp), int(rng.binomial(k, p_exp)))
            no = min(len(oth), k - ne)
            ne = min(len(exp), k - no)
            sel = []
            if ne:
                sel.append(rng.choice(exp, ne, replace=False, p=w[exp] / w[exp].sum()))
            if no:
                sel.append(rng.choice(oth, no, replace=False, p=w[oth] / w[oth].sum()))
            s = np.concatenate(sel) if sel else np.array([], dtype=np.int64)
            used[s] = True
            return s

        def sharers(v):
            """Victim plus the household members paid on the same (shared) account."""
            if self.own_iban[v] or not self.is_sub[v]:
                return np.array([v])
            mem = np.flatnonzero((self.hh == self.hh[v]) & ~self.own_iban & ~self.legit_iban_chg)
            return np.union1d(mem, [v])

        def ip_pick(k=1):
            return _choice(rng, _FRAUD_IP, k, _FRAUD_IP_W)

        def iban_switch(v, t, new, ch, ip, revert_p, contract_level=False):
            """Set the fraudster's account on the victim (and the household sharing it). A
            contract-level change is recorded on the victim only: relatives are paid to the new
            account without an event of their own."""
            mem = sharers(v)
            tt = t + np.arange(len(mem))
            if contract_level:
                ev.add(v, t, 0, new, ch, ip)
            else:
                ev.add(mem, tt, 0, new, ch, ip)
            self.h_iban.append((mem, tt, np.full(len(mem), new, dtype=object)))
            old = self.iban0[v]
            if rng.random() < revert_p:
                rt = t + int(rng.integers(9, 50)) * _DAY
                rt = rt // _DAY * _DAY + int(_office_sec(rng, 1)[0])
                if rt < self.d1 * _DAY:
                    ch2 = int(rng.choice([2, 4, 3], p=[0.6, 0.3, 0.1]))
                    ev.add(
                        v if contract_level else mem,
                        rt + np.arange(1 if contract_level else len(mem)),
                        0,
                        old,
                        ch2,
                        "",
                    )
                    self.h_iban.append((mem, rt + np.arange(len(mem)), np.full(len(mem), old, dtype=object)))

        def uploads(v, tchange, nmax, scen, first_delay=(1, 5), cats=None, mult=(1.0, 1.5)):
            k = int(rng.integers(1, nmax + 1))
            cats = cats or ([E_OPT, E_DPROS, E_HEAR, E_ALT], [0.3, 0.25, 0.2, 0.25])
            if self.age[v] < 50:  # forged hearing aids mostly for older victims
                cats = (
                    cats[0],
                    [w * (0.2 if e == E_HEAR else 1.0) for e, w in zip(*cats, strict=True)],
                )
            d = tchange // _DAY + int(rng.integers(*first_delay))
            for _ in range(k):
                if d > self.d1 - 2:
                    break
                et = int(_choice(rng, cats[0], 1, cats[1])[0])
                src = 2 if rng.random() < 0.75 else 3
                recv = d + (int(rng.integers(2, 9)) if src == 3 else 0)
                dept = self.dept_at(np.array([v]), np.array([d]))[0]
                r = rng.random()
                pt = {
                    E_OPT: OPTIC,
                    E_DPROS: DENT,
                    E_DCARE: DENT,
                    E_HEAR: AUDIO,
                    E_ALT: ALT,
                    E_PHYSIO: PHYSIO,
                }[et]
                if r < 0.6:
                    prov = -1
                elif r < 0.85:
                    prov = self._pool_pick(np.array([pt]), rng.choice(ND, 1, p=D_W), rng.random(1))[0]
                else:
                    prov = self._add_provider(pt, dept, bool(rng.random() < 0.5))
                self.fraud_eps.append(
                    dict(
                        m=v,
                        day=max(self.d0, d - int(rng.integers(0, 25))),
                        et=et,
                        dept=dept,
                        prov=prov,
                        mult=float(rng.uniform(*mult)),
                        prem=True,
                        src=src,
                        recv=min(recv, self.d1),
                        scen=scen,
                    )
                )
                d += int(rng.integers(0, 9))

        # 1. account takeover then IBAN change then forged invoices
        border_member = self.border[self.hh]
        for i in range(k_per):
            day = int(rng.integers(fmin, fmax))
            eligible = adult & clean & self.is_sub | (adult & clean & self.own_iban)
            if i % 7 == 3 and (eligible & border_member & ~used).any():
                eligible = eligible & border_member
            vs = pick(day, eligible)
            if not len(vs):
                continue
            v = int(vs[0])
            t = day * _DAY + int(_sec_of_day(rng, 1, night=0.35)[0])
            ch = int(rng.choice(2, p=[0.65, 0.35]))
            ip = ip_pick()[0]
            pre = rng.choice(3, p=[0.3, 0.3, 0.4])
            if pre in (0, 2):
                ev.add(v, t, 4, "", ch, ip)
            if pre in (1, 2):
                t += int(rng.integers(60, 3600))
                ev.add(v, t, 5, "", ch, ip)
            t += int(np.clip(rng.lognormal(np.log(6 * 3600), 1.0), 700, 72 * 3600))
            # 0 ordinary, 1 subtle, 2 a border worker's account moved to a third country
            style = 2 if self.border[self.hh[v]] else int(rng.choice(2, p=[0.7, 0.3]))
            if style == 1:
                # subtle: a French session, an account at a big French bank, ordinary amounts
                new = _ibans(rng, "FR", 1, BANK_TRAD[:6], BANK_TRAD_W[:6])[0]
                iban_switch(v, t, new, ch, "FR", 0.4)
                uploads(v, t, 3, 1, cats=([E_OPT, E_DCARE, E_ALT], [0.4, 0.3, 0.3]), mult=(0.9, 1.1))
            else:
                new = _fraud_ibans(rng, 1)[0]
                if style == 2:
                    # a border worker's foreign account moved to a third country, from there
                    third = str(rng.choice(["LT", "NL", "ES"]))
                    new = _ibans(rng, third, 1)[0]
                    ip = third
                contract_level = len(sharers(v)) > 1 and rng.random() < 0.6
                iban_switch(v, t, new, ch, ip, 0.55, contract_level=contract_level)
                uploads(v, t, 4, 1)
                if contract_level:
                    # forged invoices in relatives' names, paid to the same (new) account
                    relatives = np.setdiff1d(sharers(v), [v])
                    for r in rng.choice(
                        relatives, min(len(relatives), int(rng.integers(1, 3))), replace=False
                    ):
                        used[r] = True
                        uploads(int(r), t, 2, 1)
            inc["ato_iban"] += 1

        # 2. mule ring: one IBAN on several members of different households
        for _ in range(k_per):
            day = int(rng.integers(fmin, max(fmin + 1, fmax - 21)))
            size = int(rng.integers(3, 9))
            cand = adult & clean & (self.is_sub | self.own_iban)
            vs = pick(day, cand, size)
            # one victim per household
            _, first = np.unique(self.hh[vs], return_index=True)
            used[np.setdiff1d(vs, vs[first])] = False
            vs = vs[np.sort(first)]
            if len(vs) < 2:
                used[vs] = False
                continue
            mule = _fraud_ibans(rng, 1)[0]
            ring_ip = ip_pick()[0]
            for v in vs:
                t = (day + int(rng.integers(0, 22))) * _DAY + int(_sec_of_day(rng, 1, night=0.3)[0])
                ch = int(rng.choice(2, p=[0.6, 0.4]))
                ip = ring_ip if rng.random() < 0.6 else ip_pick()[0]
                if rng.random() < 0.5:
                    ev.add(v, t - int(rng.integers(300, 20000)), int(rng.choice([4, 5])), "", ch, ip)
                iban_switch(int(v), t, mule, ch, ip, 0.4)
                uploads(
                    int(v),
                    t,
                    3,
                    2,
                    (1, 7),
                    ([E_OPT, E_DPROS, E_ALT, E_HEAR, E_PHYSIO], [0.3, 0.24, 0.3, 0.12, 0.04]),
                )
            inc["mule_ring"] += 1

        # 3. contact hijack: e-mail / phone changed first, password reset, then IBAN
        for _ in range(k_per):
            day = int(rng.integers(fmin, max(fmin + 1, fmax - 12)))
            vs = pick(day, adult & clean & (self.is_sub | self.own_iban) & self.has_mail)
            if not len(vs):
                continue
            v = int(vs[0])
            ch = int(rng.choice(3, p=[0.4, 0.2, 0.4]))
            ip = "" if ch == 2 else ip_pick()[0]
            t = day * _DAY + int((_office_sec(rng, 1) if ch == 2 else _sec_of_day(rng, 1, 0.3))[0])
            what = rng.choice(3, p=[0.5, 0.25, 0.25])
            if what in (0, 2):
                if rng.random() < 0.4:
                    new = self._emails(np.array([v]), old=np.array([False]), variant=2)[0]
                    new = (
                        new.split("@")[0]
                        + str(rng.integers(10, 99))
                        + "@"
                        + _choice(rng, _DOM_FRAUD, 1, _DOM_FRAUD_W)[0]
                    )
                else:
                    new = (
                        _choice(rng, np.array(_NICK), 1)[0]
                        + str(rng.integers(100, 99999))
                        + "@"
                        + _choice(rng, _DOM_FRAUD, 1, _DOM_FRAUD_W)[0]
                    )
                ev.add(v, t, 1, new, ch, ip)
                self.h_email.append((np.array([v]), np.array([t]), np.array([new], dtype=object)))
                if rng.random() < 0.3:
                    rt = t + int(rng.integers(15, 60)) * _DAY
                    if rt < self.d1 * _DAY:
                        ev.add(v, rt, 1, self.email0[v], 2, "")
                        self.h_email.append(
                            (
                                np.array([v]),
                                np.array([rt]),
                                np.array([self.email0[v]], dtype=object),
                            )
                        )
            if what in (1, 2):
                t += int(rng.integers(60, 7200))
                newp = _fmt_phone(
                    _phones(rng, np.array([self.dept0[v]]), np.array([False]), np.array([True])),
                    np.array([int(self.phone_fmt[v])]),
                )[0]
                ev.add(v, t, 2, newp, ch, ip)
                self.h_phone.append((np.array([v]), np.array([t]), np.array([newp], dtype=object)))
            t += int(rng.integers(1, 10)) * _DAY + int(rng.integers(-30000, 30000))
            ch2 = int(rng.choice(2, p=[0.7, 0.3]))
            ip2 = ip_pick()[0]
            ev.add(v, t, 4, "", ch2, ip2)
            if rng.random() < 0.5:
                ev.add(v, t + int(rng.integers(30, 900)), 5, "", ch2, ip2)
            t += int(np.clip(rng.lognormal(np.log(5 * 3600), 1.0), 600, 48 * 3600))
            iban_switch(v, t, _fraud_ibans(rng, 1)[0], ch2, ip2, 0.5)
            uploads(v, t, 4, 3)
            inc["contact_hijack"] += 1

        # 4. fake provider billing identities it never treated, via tiers payant
        for _ in range(k_per):
            day = int(rng.integers(fmin, max(fmin + 1, fmax - 30)))
            et = int(_choice(rng, [E_ALT, E_OPT, E_HEAR, E_PHYSIO], 1, [0.4, 0.25, 0.15, 0.2])[0])
            pt = {E_OPT: OPTIC, E_HEAR: AUDIO, E_ALT: ALT, E_PHYSIO: PHYSIO}[et]
            pdept = int(rng.choice(ND, p=D_W))
            far = D_ZONE[self.dept0] != D_ZONE[pdept]
            age_ok = self.age >= (60 if et == E_HEAR else 18)
            size = int(rng.integers(10, 41))
            vs = pick(day, far & age_ok & (self.move_day > 10**8), min(size, max(1, n // 60)), 0.9)
            if len(vs) < 3:
                used[vs] = False
                continue
            prov = self._add_provider(pt, pdept, bool(rng.random() < 0.7))
            win = int(min(rng.integers(14, 46), max(3, self.d1 - 15 - day)))
            for v in vs:
                d = day + int(rng.integers(0, win))
                self.fraud_eps.append(
                    dict(
                        m=int(v),
                        day=d,
                        et=et,
                        dept=pdept,
                        prov=prov,
                        mult=float(rng.uniform(0.95, 1.3)),
                        prem=False,
                        src=1,
                        recv=-1,
                        scen=4,
                    )
                )
            inc["fake_provider"] += 1
        self.k_dup = k_per
        self.inc = inc
        self.used = used

    # ------------------------------------------------------------------------- claim lines
    def dept_at(self, m, day):
        return np.where(day >= self.move_day[m], self.dept1[m], self.dept0[m])

    def _pool_pick(self, ptype, dept, u):
        c = self.p_count[ptype, dept]
        return self.p_start[ptype, dept] + np.minimum(c - 1, (u**1.6 * c).astype(np.int64))

    def legit_episodes(self):
        rng, n = self.rng, self.n
        ag = np.digitize(self.age, [6, 18, 40, 60, 75])
        rates = _RATES[ag].copy()
        f = self.fem & (self.age >= 18) & (self.age < 60)
        rates[f, E_GP] *= 1.15
        rates[f, E_SPEC] *= 1.5
        rates[f, E_ALT] *= 1.3
        rates[~self.fem & (self.age >= 18) & (self.age < 60), E_GP] *= 0.85
        w = self.years
        exp_lines = ((rates * _LINES).sum(1) * w).sum() / max(w.sum(), 1e-9)
        scale = 22.0 / exp_lines * 1.16
        mult = rng.gamma(1.6, 1 / 1.6, n)
        lam = rates * (scale * mult * w)[:, None]
        cnt = rng.poisson(lam).ravel()
        cell = np.repeat(np.arange(n * NET), cnt)
        m, et = cell // NET, cell % NET
        # care dates: seasonal, fewer at week-ends, inside the member's cover window
        days = np.arange(self.d0, self.d1 + 1)
        month = days.astype("datetime64[D]").astype("datetime64[M]").astype(int) % 12
        season = np.array([1.25, 1.2, 1.1, 1.0, 0.95, 0.95, 0.85, 0.7, 1.0, 1.05, 1.1, 1.15])[month]
        wd = (days + 3) % 7  # 0 = Monday
        season = season * np.array([1.1, 1.1, 1.05, 1.1, 1.05, 0.45, 0.08])[wd]
        cw = np.concatenate([[0.0], np.cumsum(season)])
        a = np.maximum(self.cstart[m], self.d0) - self.d0
        b = np.full(len(m), self.d1 - self.d0)
        tgt = cw[a] + rng.random(len(m)) * (cw[b + 1] - cw[a])
        day = np.clip(np.searchsorted(cw, tgt, side="right") - 1, a, b) + self.d0
        # dormant spells
        dorm = rng.random(n) < 0.12
        ds = self.d0 + (rng.random(n) * (self.d1 - self.d0)).astype(np.int64)
        de = ds + rng.integers(90, 270, n)
        keep = ~(dorm[m] & (day >= ds[m]) & (day <= de[m]))
        m, et, day = m[keep], et[keep], day[keep]
        dept = self.dept_at(m, day)
        hol = (rng.random(len(m)) < 0.03) & ~np.isin(et, [E_REFILL, E_NURSE, E_SPEECH])
        dept[hol] = rng.choice(TOURIST, hol.sum())
        E = len(m)
        eps = dict(
            m=m,
            day=day,
            et=et,
            dept=dept,
            prov=np.full(E, -1),
            mult=np.ones(E),
            prem=np.zeros(E, bool),
            src=np.full(E, -1),
            recv=np.full(E, -1),
            scen=np.zeros(E, np.int64),
            hol=hol,
        )
        parts = [eps]
        for la in self.lookalike:
            k = len(la["m"])
            d = np.maximum(la["day"], self.cstart[la["m"]])
            parts.append(
                dict(
                    m=la["m"],
                    day=d,
                    et=la["et"],
                    dept=self.dept_at(la["m"], d),
                    prov=np.full(k, -1),
                    mult=np.ones(k),
                    prem=np.zeros(k, bool),
                    src=la["src"],
                    recv=la["recv"],
                    scen=np.zeros(k, np.int64),
                    hol=np.zeros(k, bool),
                )
            )
        if self.fraud_eps:
            fe = {key: np.array([e[key] for e in self.fraud_eps]) for key in self.fraud_eps[0]}
            fe["hol"] = np.zeros(len(fe["m"]), bool)
            parts.append(fe)
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def expand(self, ep):
        """Episodes -> claim lines (care date, category, act, provider, amounts, source, received)."""
        rng = self.rng
        E = len(ep["m"])
        age = self.age[ep["m"]] + (ep["day"] - self.d0) / 365.25
        u_prov = rng.random(E)
        u_src = rng.random(E)  # shared by the lines of one episode: same source, same delay
        z_del = rng.standard_normal(E)
        L: dict[str, list] = {
            k: []
            for k in (
                "li",
                "off",
                "cat",
                "act",
                "pt",
                "prov",
                "billed",
                "base",
                "rate",
                "pf",
                "f24",
            )
        }

        def emit(li, off, cat, act, pt, billed, base, rate, pf=0, f24=0, prov=None):
            k = len(li)
            if k == 0:
                return
            bc = lambda x, dt: np.broadcast_to(np.asarray(x, dtype=dt), (k,))  # noqa: E731
            L["li"].append(li)
            L["off"].append(bc(off, np.int64))
            L["cat"].append(bc(cat, np.int64))
            L["act"].append(bc(act, np.int64))
            L["pt"].append(bc(pt, np.int64))
            L["prov"].append(bc(-1 if prov is None else prov, np.int64))
            L["billed"].append(np.round(bc(billed, float)).astype(np.int64))
            L["base"].append(np.round(bc(base, float)).astype(np.int64))
            L["rate"].append(bc(rate, float))
            L["pf"].append(bc(pf, np.int64))
            L["f24"].append(bc(f24, np.int64))

        def euro(x):
            return np.round(x / 100) * 100

        def pharmacy(li, offs, home_p):
            k = len(li)
            drug = (rng.random(k) ** 2.2 * len(_DRUG_CODE)).astype(np.int64)
            qty = rng.choice([1, 2, 3], k, p=[0.8, 0.15, 0.05])
            price = _DRUG_PRICE[drug] * qty
            emit(
                li,
                offs,
                1,
                _DRUG_CODE[drug],
                PHARM,
                price,
                price,
                _DRUG_RATE[drug],
                prov=np.where(rng.random(k) < home_p, -3, -1),
            )

        def series(idx, nsess, gap_lo, gap_hi):
            li = np.repeat(idx, nsess)
            first = np.repeat(np.cumsum(nsess) - nsess, nsess)
            gaps = rng.integers(gap_lo, gap_hi + 1, len(li))
            gaps[first == np.arange(len(li))] = 0
            off = np.cumsum(gaps)
            off = off - np.repeat(off[np.cumsum(nsess) - nsess], nsess)
            return li, off

        adult = age >= 18
        pf_c = np.where(adult, 200, 0)
        for et in range(NET):
            idx = np.flatnonzero(ep["et"] == et)
            k = len(idx)
            if k == 0:
                continue
            a = age[idx]
            if et == E_GP:
                r = rng.random(k)
                act = np.where(r < 0.07, _A["TCG"], np.where((a >= 75) & (r > 0.8), _A["VG"], _A["G"]))
                base = np.where(act == _A["VG"], 4000, 3000)
                home = (rng.random(k) < 0.8) & ~ep["hol"][idx]
                emit(idx, 0, 0, act, GP, base, base, 0.7, pf_c[idx], prov=np.where(home, -2, -1))
                npx = np.where(rng.random(k) < 0.72, 1 + rng.binomial(3, 0.3, k), 0)
                li = np.repeat(idx, npx)
                pharmacy(li, rng.choice(3, len(li), p=[0.78, 0.18, 0.04]), 0.85)
            elif et == E_SPEC:
                act = _choice(rng, [_A["CS"], _A["APC"], _A["CSC"]], k, [0.62, 0.24, 0.14])
                base = np.where(act == _A["CS"], 3150, np.where(act == _A["APC"], 6000, 4773))
                emit(idx, 0, 0, act, SPEC, base, base, 0.7, pf_c[idx])
                npx = np.where(rng.random(k) < 0.3, 1 + rng.binomial(1, 0.4, k), 0)
                li = np.repeat(idx, npx)
                pharmacy(li, rng.choice(2, len(li), p=[0.8, 0.2]), 0.7)
                im = idx[rng.random(k) < 0.1]
                j = rng.choice(len(_IMG_CODES), len(im), p=_IMG_W)
                emit(
                    im,
                    rng.integers(0, 15, len(im)),
                    3,
                    _IMG_CODES[j],
                    IMG,
                    _IMG_BASE[j],
                    _IMG_BASE[j],
                    0.7,
                    pf_c[im],
                )
            elif et == E_REFILL:
                li = np.repeat(idx, 1 + rng.binomial(5, 0.45, k))
                pharmacy(li, 0, 0.9)
            elif et == E_LAB:
                nl = 1 + rng.binomial(4, 0.4, k)
                li = np.repeat(idx, nl)
                pos = np.arange(len(li)) - np.repeat(np.cumsum(nl) - nl, nl)
                j = (np.repeat(rng.integers(0, len(_LAB_CODES), k), nl) + 5 * pos) % len(_LAB_CODES)
                base = np.round(_LAB_BASE[j] * np.exp(0.12 * rng.standard_normal(len(li))) / 27) * 27
                emit(li, 0, 2, _LAB_CODES[j], LAB, base, base, 0.6)
            elif et == E_IMG:
                nl = 1 + (rng.random(k) < 0.2)
                li = np.repeat(idx, nl)
                pos = np.arange(len(li)) - np.repeat(np.cumsum(nl) - nl, nl)
                j = (np.repeat(rng.choice(len(_IMG_W), k, p=_IMG_W), nl) + 3 * pos) % len(_IMG_W)
                emit(li, 0, 3, _IMG_CODES[j], IMG, _IMG_BASE[j], _IMG_BASE[j], 0.7, pf_c[li])
            elif et == E_DCARE:
                li = np.repeat(idx, 1 + rng.binomial(2, 0.35, k))
                j = rng.choice(len(_DC_CODES), len(li), p=_DC_W)
                off = np.where(rng.random(len(li)) < 0.7, 0, rng.integers(7, 22, len(li)))
                emit(li, off, 5, _DC_CODES[j], DENT, _DC_BASE[j], _DC_BASE[j], 0.6)
            elif et == E_DPROS:
                li = np.repeat(idx, 1 + (rng.random(k) < 0.2))
                kk = len(li)
                rac0 = (rng.random(kk) < 0.45) & ~ep["prem"][li]
                billed = np.where(
                    rac0,
                    np.minimum(euro(_lognorm(rng, 49000, 0.04, kk)), 50000),
                    euro(np.clip(_lognorm(rng, 76000, 0.28, kk) * ep["mult"][li], 45000, 160000)),
                )
                emit(li, 0, 5, _choice(rng, _CROWNS, kk, [0.5, 0.35, 0.15]), DENT, billed, 12000, 0.6)
            elif et == E_OPT:
                r = rng.random(k)
                nl = np.where(r < 0.85, 3, np.where(r < 0.95, 2, 1))
                li = np.repeat(idx, nl)
                pos = np.arange(len(li)) - np.repeat(np.cumsum(nl) - nl, nl)
                kind = np.where(
                    np.repeat(nl, nl) == 2,
                    1,
                    np.where(np.repeat(nl, nl) == 1, 0, np.minimum(pos, 1)),
                )
                kk = len(li)
                al = age[li]
                cls_a = (np.repeat(rng.random(k), nl) < 0.2) & ~ep["prem"][li]
                mu = ep["mult"][li]
                prog = al >= 45
                frame_code = np.where(
                    cls_a, _OPT["frame_a"], np.where(al < 16, _OPT["frame_child"], _OPT["frame_b"])
                )
                lens_code = np.where(
                    cls_a,
                    _OPT["lens_a"],
                    np.where(
                        prog,
                        _choice(rng, [_OPT["prog"], _OPT["prog2"]], kk),
                        _choice(rng, [_OPT["single"], _OPT["single2"]], kk),
                    ),
                )
                fb = np.clip(_lognorm(rng, 14000, 0.4, kk) * mu, 4000, 65000)
                lb = np.where(
                    prog,
                    np.clip(_lognorm(rng, 27000, 0.3, kk) * mu, 12000, 65000),
                    np.clip(_lognorm(rng, 9500, 0.35, kk) * mu, 3000, 30000),
                )
                billed = np.where(
                    kind == 0,
                    np.where(cls_a, np.minimum(_lognorm(rng, 2900, 0.05, kk), 3000), euro(fb)),
                    np.where(cls_a, np.minimum(euro(_lognorm(rng, 4500, 0.3, kk)), 9000), euro(lb)),
                )
                base = np.where(cls_a, billed, 5)
                emit(li, 0, 6, np.where(kind == 0, frame_code, lens_code), OPTIC, billed, base, 0.6)
            elif et == E_HEAR:
                li = np.repeat(idx, np.where(rng.random(k) < 0.75, 2, 1))
                kk = len(li)
                c1 = (rng.random(kk) < 0.3) & ~ep["prem"][li]
                billed = np.where(
                    c1,
                    np.minimum(euro(_lognorm(rng, 92000, 0.03, kk)), 95000),
                    euro(np.clip(_lognorm(rng, 130000, 0.17, kk) * ep["mult"][li], 95000, 210000)),
                )
                emit(li, 0, 7, np.where(c1, _HEAR_I, _HEAR_II), AUDIO, billed, 40000, 0.6)
            elif et == E_PHYSIO:
                ns = np.where(ep["scen"][idx] > 0, 2 + rng.poisson(3, k), 3 + rng.poisson(6, k))
                li, off = series(idx, ns, 2, 4)
                base = np.round(_lognorm(rng, 1750, 0.12, len(li)) * ep["mult"][li])
                emit(li, off, 8, _A["AMK"], PHYSIO, base, base, 0.6)
            elif et == E_NURSE:
                li, off = series(idx, 2 + rng.poisson(8, k), 1, 2)
                base = np.clip(_lognorm(rng, 900, 0.35, len(li)), 300, 4500)
                emit(li, off, 8, _A["AMI"], NURSE, base, base, 0.6)
            elif et == E_ALT:
                ns = np.where(ep["scen"][idx] > 0, 1 + rng.binomial(2, 0.5, k), 1 + rng.poisson(0.45, k))
                li, off = series(idx, ns, 14, 60)
                j = rng.choice(len(_ALT_CODES), len(li), p=_ALT_W)
                billed = euro(
                    np.clip(_lognorm(rng, 1, 0.15, len(li)) * _ALT_MED[j] * ep["mult"][li], 2500, 12000)
                )
                emit(li, off, 9, _ALT_CODES[j], ALT, billed, 0, 0.0)
            elif et == E_HOSP:
                er = rng.random(k) < 0.45
                emit(idx[er], 0, 4, _A["FPU"], HOSP, 1961, 0, 0.0)
                st = idx[~er]
                ks = len(st)
                nights = rng.geometric(0.4, ks) - 1
                ghs = np.clip(_lognorm(rng, 190000, 0.8, ks), 25000, 4000000)
                pf24 = rng.random(ks) < 0.5
                emit(
                    st,
                    0,
                    4,
                    _A["GHS"],
                    HOSP,
                    ghs,
                    ghs,
                    np.where(pf24, 1.0, 0.8),
                    0,
                    np.where(pf24, 2400, 0),
                )
                fj = st[nights > 0]
                emit(fj, 0, 4, _A["FJ"], HOSP, 2000 * nights[nights > 0], 0, 0.0)
                cp = (nights > 0) & (rng.random(ks) < 0.4)
                emit(
                    st[cp],
                    0,
                    4,
                    _A["CP"],
                    HOSP,
                    euro(_lognorm(rng, 7500, 0.2, cp.sum())) * nights[cp],
                    0,
                    0.0,
                )
            elif et == E_SPEECH:
                child = a < 18
                li, off = series(idx, np.where(child, 5 + rng.poisson(8, k), 3 + rng.poisson(3, k)), 6, 8)
                ch = age[li] < 18
                base = np.where(ch, np.round(_lognorm(rng, 2700, 0.08, len(li))), 2200)
                emit(li, off, 8, np.where(ch, _A["AMO"], _A["AMY"]), PARAMED, base, base, 0.6)

        cc = {k: np.concatenate(v) for k, v in L.items()}
        li = cc["li"]
        m = ep["m"][li]
        day = ep["day"][li] + cc["off"]
        frecv = ep["recv"][li]
        late_care = (frecv >= 0) & (day > frecv)  # invoices sent: care happened before sending
        day[late_care] = frecv[late_care] - rng.integers(0, 4, late_care.sum())
        dept = ep["dept"][li]
        pt = cc["pt"]
        # provider: episode override for its main provider type, else pools (home GP / pharmacy)
        main_pt = np.array(
            [GP, SPEC, PHARM, LAB, IMG, DENT, DENT, OPTIC, AUDIO, PHYSIO, NURSE, ALT, HOSP, PARAMED]
        )[ep["et"][li]]
        u = (u_prov[li] + pt * 0.6180339887) % 1.0
        hu = self.home_u[m]
        u = np.where(cc["prov"] == -2, hu[:, 0], np.where(cc["prov"] == -3, hu[:, 1], u))
        prov = self._pool_pick(pt, dept, u)
        late = day < self.p_open[prov]
        prov[late] = self.p_start[pt[late], dept[late]]
        ov = (ep["prov"][li] >= 0) & (pt == main_pt)
        prov[ov] = ep["prov"][li][ov]
        act = cc["act"]
        billed, base = cc["billed"], cc["base"]
        # sector-2 fees and GS coding depend on the provider
        p_fac = np.concatenate([self.p_fac, np.ones(len(self.x_id))])
        p_gs = np.concatenate([self.p_gs, np.zeros(len(self.x_id), bool)])
        fac = p_fac[prov]
        dep = (fac > 1) & np.isin(act, [_A["G"], _A["CS"], _A["APC"], _A["CSC"], *_IMG_CODES])
        billed = np.where(dep, np.round(base * fac / 100) * 100, billed)
        act = np.where((act == _A["G"]) & p_gs[prov], _A["GS"], act)
        ro_raw = np.round(base * cc["rate"]).astype(np.int64)
        ro = np.maximum(ro_raw - cc["pf"] - cc["f24"], 0)
        claimed = billed - ro_raw + cc["f24"]
        cat = cc["cat"]
        # source: shared by the lines of one episode and category
        P = _SRC_P[cat].copy()
        P[base == 0, 0] = 0.0
        old = age[li] >= 75
        P[old, 3] *= 3
        P[old, 2] *= 0.6
        P /= P.sum(1, keepdims=True)
        src = (u_src[li][:, None] > np.cumsum(P, 1)).sum(1).clip(0, 3)
        fsrc = ep["src"][li]
        src = np.where(fsrc >= 0, fsrc, src)
        z = z_del[li]
        delay = np.select(
            [src == 0, src == 1, src == 2],
            [
                2 + np.exp(np.log(4) + 0.45 * z),
                np.exp(np.log(4) + 0.7 * z),
                np.exp(np.log(12) + 0.9 * z),
            ],
            3 + np.exp(np.log(26) + 0.6 * z),
        )
        recv = day + np.round(delay).astype(np.int64)
        recv = np.where(frecv >= 0, np.maximum(frecv, day), recv)
        payee = np.where(src == 1, 1, np.where((src == 0) & (rng.random(len(li)) < 0.06), 1, 0))
        keep = (recv <= self.d1) & (day >= np.maximum(self.cstart[m], self.d0)) & (day <= self.d1)
        out = dict(
            m=m,
            day=day,
            recv=recv,
            src=src,
            cat=cat,
            act=act,
            prov=prov,
            billed=billed,
            ro=ro,
            claimed=claimed,
            payee=payee,
            scen=ep["scen"][li],
            base=base,
            ep=li,
        )
        return {k: v[keep] for k, v in out.items()}

    # ------------------------------------------------------------------- post-processing
    def duplicates_and_edits(self, c):
        rng = self.rng
        extra = []
        # 5. duplicate: a noemie / tiers-payant care claimed again by upload or paper
        cand_cat = np.isin(c["cat"], [0, 3, 5, 6, 7, 8])
        cand = (
            (c["scen"] == 0)
            & (c["src"] <= 1)
            & cand_cat
            & (c["day"] >= self.fmin)
            & (c["recv"] + 45 <= self.d1)
            & ~self.used[c["m"]]
            & (self.age[c["m"]] >= 18)
        )
        ci = np.flatnonzero(cand)
        n_dup = 0
        if len(ci):
            key_day = c["m"] * 100000 + c["day"]
            order = np.argsort(key_day, kind="stable")
            for _ in range(self.k_dup):
                mem_ok = np.unique(c["m"][ci])
                mem_ok = mem_ok[~self.used[mem_ok]]
                if not len(mem_ok):
                    break
                expo = mem_ok[self.exp_day[mem_ok] <= self.d1]
                pool = expo if (len(expo) and rng.random() < 0.85) else mem_ok
                v = rng.choice(pool)
                self.used[v] = True
                rows = ci[c["m"][ci] == v]
                # prefer expensive care; most fraudsters copy several care events
                w = c["billed"][rows].astype(float) ** 0.5
                events = 1 if rng.random() < 0.25 else int(rng.integers(2, 5))
                firsts = rng.choice(rows, min(events, len(rows)), replace=False, p=w / w.sum())
                src = 2 if rng.random() < 0.7 else 3
                mode = rng.choice(3, p=[0.6, 0.25, 0.15])
                for r0 in firsts:
                    lo = np.searchsorted(key_day[order], key_day[r0])
                    hi = np.searchsorted(key_day[order], key_day[r0], side="right")
                    grp = order[lo:hi]
                    grp = grp[(c["prov"][grp] == c["prov"][r0]) & (c["scen"][grp] == 0)][:4]
                    recv = int(c["recv"][grp].max() + rng.integers(3, 41))
                    for g in grp:
                        row = {k: c[k][g] for k in c}
                        row.update(src=src, recv=min(recv, self.d1), payee=0, scen=5)
                        if mode == 1:
                            row["claimed"] = row["billed"] - row["ro"]
                        elif mode == 2:
                            row["ro"], row["claimed"] = 0, row["billed"]
                        extra.append(row)
                n_dup += 1
        self.inc["duplicate"] = n_dup
        # look-alike: the member sends the invoice of a noemie dental crown / glasses for the
        # part above the RO base (same care, same billed amount, different claimed amount)
        comp = np.flatnonzero(
            (c["scen"] == 0)
            & (c["src"] == 0)
            & np.isin(
                c["act"],
                np.concatenate([_CROWNS, [_OPT["frame_b"], _OPT["prog"], _OPT["single"], _OPT["prog2"]]]),
            )
            & (c["recv"] + 30 <= self.d1)
        )
        comp = comp[rng.random(len(comp)) < 0.2]
        tm = c["base"][comp] - np.round(c["base"][comp] * 0.6).astype(np.int64)
        comp_rows = {k: c[k][comp].copy() for k in c}
        c["claimed"][comp] = tm
        comp_rows["claimed"] = comp_rows["billed"] - comp_rows["base"]
        comp_rows["src"] = rng.choice([2, 3], len(comp), p=[0.8, 0.2])
        comp_rows["recv"] = np.minimum(comp_rows["recv"] + rng.integers(3, 30, len(comp)), self.d1)
        comp_rows["payee"] = np.zeros(len(comp), np.int64)
        if extra:
            ex = {k: np.array([r[k] for r in extra]) for k in c}
            c = {k: np.concatenate([c[k], ex[k].astype(c[k].dtype), comp_rows[k]]) for k in c}
        else:
            c = {k: np.concatenate([c[k], comp_rows[k]]) for k in c}
        self.counts["lookalike_invoice_complements"] = len(comp)
        return c

    # ---------------------------------------------------------------- legitimate look-alikes
    def confounders(self, c):
        """Honest lines that look like duplicates: 0 € pairs, several units of one act on one
        day (each with its own RO line and complement invoice), the same act the same day at two
        providers, a member's invoice received before the NOEMIE line of the same care (an
        overpayment to recover, not fraud), and a single cheap invoice sent again by mistake."""
        rng = self.rng
        honest = (c["scen"] == 0) & ~self.used[c["m"]] & (c["recv"] + 40 <= self.d1)
        noemie = honest & (c["src"] == 0)
        added = []

        def pick(mask, share):
            idx = np.flatnonzero(mask)
            return idx[rng.random(len(idx)) < share]

        def copy(rows, **changes):
            out = {k: c[k][rows].copy() for k in c}
            for k, v in changes.items():
                out[k] = np.broadcast_to(np.asarray(v), (len(rows),)).astype(c[k].dtype).copy()
            return out

        # 1. 0 € pairs: care fully covered by the RO (ALD at 100 %, orthodontics) whose complement
        # line asks 0 € too
        zero = pick(noemie & np.isin(c["cat"], [0, 5]) & (self.age[c["m"]] >= 50), 0.01)
        c["ro"][zero] = c["billed"][zero]
        c["claimed"][zero] = 0
        added.append(
            copy(zero, src=rng.choice([2, 3], len(zero)), claimed=0, payee=0)
            | {"recv": np.minimum(c["recv"][zero] + rng.integers(2, 30, len(zero)), self.d1)}
        )
        # 2. several units of one act on one day: a second crown / hearing aid / lens at the same
        # price, each unit with its RO line and the member's complement invoice (part above the base)
        units = pick(noemie & np.isin(c["act"], np.concatenate([_CROWNS, [_HEAR_I, _HEAR_II]])), 0.25)
        c["claimed"][units] = c["base"][units] - np.round(c["base"][units] * 0.6).astype(np.int64)
        second = copy(units)
        second["recv"] = c["recv"][units] + rng.integers(0, 2, len(units))
        complement = []
        for rows in (copy(units), second):
            comp = {k: v.copy() for k, v in rows.items()}
            comp["claimed"] = comp["billed"] - comp["base"]
            comp["src"] = rng.choice([2, 3], len(units), p=[0.8, 0.2]).astype(c["src"].dtype)
            comp["recv"] = np.minimum(comp["recv"] + rng.integers(3, 25, len(units)), self.d1)
            comp["payee"] = np.zeros(len(units), c["payee"].dtype)
            complement.append(comp)
        added += [second, *complement]
        # 3. the same consultation act the same day with two doctors (the second by paper)
        gp = pick(noemie & (c["act"] == _A["G"]), 0.006)
        other = self._pool_pick(
            np.full(len(gp), GP), self.dept_at(c["m"][gp], c["day"][gp]), rng.random(len(gp))
        )
        other = np.where(
            other == c["prov"][gp], self.p_start[GP, self.dept_at(c["m"][gp], c["day"][gp])], other
        )
        keep = other != c["prov"][gp]
        gp, other = gp[keep], other[keep]
        added.append(
            copy(gp, src=3, payee=0)
            | {"prov": other, "recv": np.minimum(c["recv"][gp] + rng.integers(5, 30, len(gp)), self.d1)}
        )
        # 4. an honest double submission: the member uploads the invoice before the NOEMIE line
        # arrives (an overpayment to recover)
        early = pick(noemie & np.isin(c["cat"], [0, 5, 6, 8]) & (c["claimed"] > 0), 0.003)
        upload = copy(early, src=2, payee=0)
        upload["recv"] = c["day"][early] + rng.integers(0, 2, len(early))
        c["recv"][early] = np.minimum(
            np.maximum(c["recv"][early], upload["recv"] + rng.integers(2, 12, len(early))), self.d1
        )
        added.append(upload)
        # 5. a single cheap invoice sent again after it was paid (a mistake, or an unproven one)
        cheap = pick(noemie & (c["cat"] == 0) & (c["claimed"] > 0) & (c["claimed"] <= 3000), 0.0008)
        added.append(
            copy(cheap, src=2, payee=0)
            | {"recv": np.minimum(c["recv"][cheap] + rng.integers(5, 40, len(cheap)), self.d1)}
        )
        self.counts["lookalike_zero_euro_pairs"] = len(zero)
        self.counts["lookalike_multi_unit_acts"] = len(units)
        self.counts["lookalike_two_providers_same_day"] = len(gp)
        self.counts["lookalike_early_uploads"] = len(early)
        self.counts["lookalike_single_resubmissions"] = len(cheap)
        return {k: np.concatenate([c[k], *[a[k].astype(c[k].dtype) for a in added]]) for k in c}

    # ------------------------------------------------------------------------------- run
    def run(self, out: Path) -> dict[str, int]:
        out.mkdir(parents=True, exist_ok=True)
        rng = self.rng
        self.lookalike = []
        self.members()
        self.home_u = rng.random((self.nh, 2))[self.hh]
        self.providers()
        self.legit_events()
        self.breaches()
        self.fraud()
        ep = self.legit_episodes()
        c = self.expand(ep)
        c = self.duplicates_and_edits(c)
        c = self.confounders(c)

        # claim ids in order of reception; corrections re-use an id later in the file
        order = np.lexsort((rng.random(len(c["m"])), c["recv"]))
        c = {k: v[order] for k, v in c.items()}
        N = len(c["m"])
        c["no"] = np.arange(1, N + 1, dtype=np.int64)
        corr = np.flatnonzero((c["scen"] == 0) & (c["recv"] + 5 <= self.d1) & (rng.random(N) < 0.003))
        k = len(corr)
        # corrections: a cancelled line (all amounts 0) or a claimed amount revised downwards
        cancel = rng.random(k) < 0.2
        cor = {key: c[key][corr].copy() for key in c}
        cor["recv"] = np.minimum(cor["recv"] + rng.integers(5, 46, k), self.d1)
        cor["claimed"] = np.round(cor["claimed"] * rng.uniform(0.5, 0.95, k)).astype(np.int64)
        for a_ in ("billed", "ro", "claimed"):
            cor[a_][cancel] = 0
        scen_names = pl.Series([None, *SCENARIOS], dtype=pl.String)
        labels = pl.DataFrame(
            {
                "no": c["no"],
                "is_fraud": (c["scen"] > 0).astype(np.int8),
                "scenario": scen_names.gather(c["scen"]),
            }
        )
        allc = {key: np.concatenate([c[key], cor[key]]) for key in c}
        o2 = np.argsort(allc["recv"], kind="stable")
        allc = {key: v[o2] for key, v in allc.items()}
        # payee IBAN = the member's account in force when the line is paid
        hm, ht, hv = self._hist(self.h_iban)
        hist = pl.DataFrame({"m": hm, "t": ht, "payee_iban": _S(hv)}).sort("t")
        pids = _S(np.concatenate([self.p_id, np.array(self.x_id, dtype=object)]))
        ppcs = _S(np.concatenate([self.p_pc, np.array(self.x_pc, dtype=object)]))
        claims = pl.DataFrame(
            {
                "no": allc["no"],
                "member_id": _S(self.member_id).gather(allc["m"]),
                "care_date": pl.Series(allc["day"].astype(np.int32)).cast(pl.Date),
                "received_date": pl.Series(allc["recv"].astype(np.int32)).cast(pl.Date),
                "source": pl.Series(SOURCES).gather(allc["src"]),
                "care_category": pl.Series(CATEGORIES).gather(allc["cat"]),
                "act_code": pl.Series(_ACTS, dtype=pl.String).gather(allc["act"]),
                "provider_id": pids.gather(allc["prov"]),
                "provider_postcode": ppcs.gather(allc["prov"]),
                "billed_amount": allc["billed"] / 100,
                "ro_amount": allc["ro"] / 100,
                "claimed_amount": allc["claimed"] / 100,
                "payee": pl.Series(["member", "provider"]).gather(allc["payee"]),
                "m": allc["m"],
                "t": allc["recv"] * _DAY + 20 * 3600,
                "i": np.arange(len(o2)),
            }
        )
        claims = (
            claims.sort("t")
            .join_asof(hist, on="t", by="m", strategy="backward", check_sortedness=False)
            .sort("i")
            .with_columns(
                claim_id=pl.lit("C") + (pl.col("no") + 10**9).cast(pl.String),
                payee_iban=pl.when(pl.col("payee") == "member").then(pl.col("payee_iban")),
            )
            .select(
                "claim_id",
                *[x for x in claims.columns if x not in ("no", "m", "t", "i")],
                "payee_iban",
            )
        )
        labels = labels.select(
            claim_id=pl.lit("C") + (pl.col("no") + 10**9).cast(pl.String),
            is_fraud="is_fraud",
            scenario="scenario",
        )

        # events
        em, et_, ety, evl, ech, eip = self.ev.arrays()
        keep = (et_ >= self.d0 * _DAY) & (et_ < (self.d1 + 1) * _DAY)
        o = np.lexsort((em[keep], et_[keep]))
        em, et_, ety, evl, ech, eip = (x[keep][o] for x in (em, et_, ety, evl, ech, eip))
        ne = len(em)
        events = pl.DataFrame(
            {
                "event_id": pl.Series(_cat_str("E", _zf(np.arange(1, ne + 1) + 10**9, 10)), dtype=pl.String),
                "member_id": _S(self.member_id[em]),
                "event_time": pl.from_epoch(pl.Series(et_), time_unit="s"),
                "event_type": pl.Series(np.array(EVENT_TYPES)[ety]),
                "new_value": _S(evl),
                "channel": pl.Series(np.array(CHANNELS)[ech]),
                "ip_country": _S(eip),
            }
        ).with_columns(
            [
                pl.when(pl.col(x) == "").then(None).otherwise(pl.col(x)).alias(x)
                for x in ("new_value", "ip_country")
            ]
        )

        # members snapshot at extraction time (end): current contact data and IBAN
        n = self.n
        tq = np.full(n, (self.d1 + 1) * _DAY)
        cur = {
            name: _asof(*self._hist(h), np.arange(n), tq)
            for name, h in (
                ("email", self.h_email),
                ("phone", self.h_phone),
                ("iban", self.h_iban),
                ("postcode", self.h_pc),
            )
        }
        memdf = pl.DataFrame(
            {
                "member_id": _S(self.member_id),
                "subscriber_id": _S(self.sub_id),
                "last_name": _S(self.last),
                "first_name": _S(self.first),
                "sex": pl.Series(self.sex),
                "birth_date": pl.Series(self.birth.astype(np.int32)).cast(pl.Date),
                "postcode": _S(cur["postcode"]),
                "contract_start": pl.Series(self.cstart.astype(np.int32)).cast(pl.Date),
                "nir": _S(self.nir),
                "email": _S(cur["email"]),
                "phone": _S(cur["phone"]),
                "iban": _S(cur["iban"]),
            }
        )
        # a few e-mails typed with capitals by the member (Jean.Dupont@Gmail.com)
        em0 = cur["email"]
        has = np.array([x is not None for x in em0], dtype=bool)
        cap = has & (rng.random(n) < 0.06)
        em0 = em0.copy()
        em0[cap] = _fmt_email(em0[cap], np.ones(int(cap.sum()), int))
        memdf = memdf.with_columns(email=_S(em0))
        memdf = memdf.sort("subscriber_id", "member_id")

        kw = dict(date_format="%Y-%m-%d", datetime_format="%Y-%m-%dT%H:%M:%S", float_precision=2)
        memdf.write_csv(out / "members.csv", **kw)
        events.write_csv(out / "account_events.csv", **kw)
        claims.write_csv(out / "claims.csv", **kw)
        self.breach_df.write_csv(out / "breach_list.csv", **kw)
        labels.write_csv(out / "labels.csv", **kw)
        res = {
            "members": memdf.height,
            "account_events": events.height,
            "claims": claims.height,
            "breach_list": self.breach_df.height,
            "labels": labels.height,
        }
        for s in SCENARIOS:
            res[f"incidents_{s}"] = int(self.inc.get(s, 0))
        res["fraud_claim_lines"] = int(labels["is_fraud"].sum())
        res["claim_corrections"] = int(k)
        res["members_exposed"] = int((self.exp_day < 10**9).sum())
        return res
