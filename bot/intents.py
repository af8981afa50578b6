"""The intent contract: names that trainers, stories and tests rely on.

Changing a name here is a breaking change for training data and test stories.
"""

from __future__ import annotations

CORE_INTENTS: tuple[str, ...] = (
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "help",
    "stop",
    "human_handoff",
    "out_of_scope",
    "report_violation",
    "check_status",
    # Volunteer taskforce (gugus tugas): "saya relawan, kode RLW-XXXXXX", "berhenti jadi relawan".
    "join_taskforce",
    "leave_taskforce",
)

FAQ_INTENT = "faq"

FAQ_TOPICS: tuple[str, ...] = (
    "what_is_bawaslu",
    "bawaslu_vs_kpu",
    "how_to_report",
    "report_requirements",
    "report_deadline",
    "after_report",
    "reporter_privacy",
    "anonymous_report",
    "evidence",
    "content_violation_types",
    "hoax",
    "hate_speech",
    "sara",
    "black_campaign",
    "money_politics",
    "money_politics_sanction",
    "campaign_period",
    "quiet_period",
    "social_media_accounts",
    "campaign_ads",
    "civil_servant_neutrality",
    "military_police_neutrality",
    "village_head",
    "prohibited_places",
    "children_in_campaign",
    "polls_quick_count",
    "hoax_sanction",
    "gakkumdu",
    "report_to_platform",
    "bawaslu_contact",
    "check_status_howto",
    "volunteer",
)


def faq_intent_names() -> list[str]:
    """Full retrieval-intent names, e.g. ``faq/hoax``."""
    return [f"{FAQ_INTENT}/{topic}" for topic in FAQ_TOPICS]
