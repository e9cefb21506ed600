"""French labels of the codes the review store and the detectors use (the codes stay the values)."""

from __future__ import annotations

from claimwatch.detectors.rules import RULES

STATUS = {
    "new": "Nouveau",
    "in_review": "En cours",
    "needs_info": "Complément demandé",
    "closed_fraud": "Clos – fraude",
    "closed_legitimate": "Clos – légitime",
}
# the queue's status filter: the store's groups first, then each status
STATUS_FILTERS = {"open": "Ouverts", "closed": "Clos", "all": "Tous", **STATUS}
DECISION = {
    "fraud": "Fraude avérée",
    "legitimate": "Légitime",
    "needs_info": "Complément d'information",
}
EVENT = {
    "iban_change": "Changement d'IBAN",
    "email_change": "Changement d'e-mail",
    "phone_change": "Changement de téléphone",
    "address_change": "Changement d'adresse",
    "password_reset": "Réinitialisation du mot de passe",
    "login_new_device": "Connexion depuis un nouvel appareil",
}
REASON = {
    "ACCOUNT_TAKEOVER": "Prise de contrôle du compte, puis paiement",
    "TAKEOVER_NO_PAYMENT_YET": "Prise de contrôle du compte, pas encore de paiement",
    "MULE_ACCOUNT": "Compte mule partagé entre contrats",
    "SUSPICIOUS_PROVIDER": "Professionnel de santé suspect",
    "DUPLICATE_CLAIM": "Double facturation par deux canaux",
    "NEW_CATEGORY_HIGH_AMOUNT": "Première facture élevée d'un type de soin",
    "DORMANT_THEN_INVOICE": "Longue inactivité puis facture élevée",
    "ANOMALOUS_PROFILE": "Profil atypique (ensemble PyOD)",
    "BREACH_EXPOSED": "Identifiants dans une fuite de données",
}
RUN_STATUS = {
    "running": "en cours",
    "committed": "validée",
    "completed": "terminée",
    "failed": "échouée",
    "publish_failed": "publication échouée",
}
SORT = {
    "rank": "Rang",
    "-score": "Score décroissant",
    "-amount_at_risk": "Montant à risque décroissant",
    "-opened_at": "Ouverture récente",
    "opened_at": "Ouverture ancienne",
    "-updated_at": "Mise à jour récente",
    "-decided_at": "Décision récente",
    "case_id": "N° de dossier",
}
ACTION = {
    "view": "Consultation",
    "assign": "Attribution",
    "decide": "Décision",
    "note": "Note",
    "export": "Export",
    "login": "Connexion",
    "logout": "Déconnexion",
}


def reason_codes() -> list[str]:
    """Every reason code the detectors give, in their catalogue's order."""
    return list(RULES)


def reason_label(code: str) -> str:
    """The French label of a reason code (the detectors' English title for a code not translated)."""
    return REASON.get(code) or (RULES[code].title if code in RULES else code)
