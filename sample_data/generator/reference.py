"""Reference data of the French system: departments, names, banks, care model and tariffs,
act codes, breaches, fraudsters' IP countries."""

from __future__ import annotations

import unicodedata
from datetime import date

import numpy as np

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
