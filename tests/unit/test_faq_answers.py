"""The FAQ data holds together: contract, training examples, answers, placeholders.

Covers data/nlu/faq.yml, data/faq/responses.yml and tests/stories/test_faq.yml
against bot/intents.py and bot/resources/elections.yml. Answers are rendered on
days across a whole election cycle (the real calendar's 2024 elections, today,
and the calendar with made-up 2029 dates), since their wording depends on the day.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from typing import Any

import pytest
from rasa.core.nlg.interpolator import interpolate_text
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.utils.io import read_yaml_file

from bot.election_facts import load_facts, placeholders_in
from bot.intents import CORE_INTENTS, FAQ_INTENT, FAQ_TOPICS
from bot.settings import PROJECT_ROOT
from tests.responses import DATE_ID, MONTHS
from tests.unit.test_election_facts import with_2029_dates

NLU_DIR = PROJECT_ROOT / "data" / "nlu"
FAQ_NLU = NLU_DIR / "faq.yml"
FAQ_RESPONSES = PROJECT_ROOT / "data" / "faq" / "responses.yml"
FAQ_STORIES = PROJECT_ROOT / "tests" / "stories" / "test_faq.yml"
HELD_OUT_DIR = PROJECT_ROOT / "tests" / "nlu"

MAX_ANSWER_CHARS = 600
MAX_BUTTON_TITLE_CHARS = 20
MIN_EXAMPLES = 10

LEGAL_SOURCE = re.compile(r"\b(Pasal|UU|PKPU|Perbawaslu|SKB)\b")
# Penalty articles of UU 7/2017 and the kind of penalty each one states
# (campaign-rules notes, section 0): kurungan (detention) or penjara (prison).
PENALTY_ARTICLES = {"492": "kurungan", "493": "kurungan", "494": "kurungan",
                    "509": "kurungan", "521": "penjara", "523": "penjara"}
KURUNGAN_PENALTY = "pidana kurungan paling lama 1 tahun dan denda paling banyak Rp12 juta"
ARTICLE_NUMBERS = re.compile(r"\b(\d{3}[A-Z]?)\b")
TYPED_DATE = re.compile(rf"\b\d{{1,2}}\s*(–|-)?\s*\d{{0,2}}\s*({MONTHS})\b", re.IGNORECASE)
PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z_]+)(?P<entities>\{.*\})?$")
# Keyword names of CollectingDispatcher.utter_message that placeholders must not shadow.
UTTER_MESSAGE_PARAMS = {
    "text", "image", "json_message", "template", "response", "attachment", "buttons",
    "elements",
}


def _normalise(text: str) -> str:
    return " ".join(text.lower().split()).strip(" ?!.")


TODAY = date(2026, 12, 1)
# Days across a whole cycle with the real calendar: 3 days before the Pemilu 2024
# campaign, mid-campaign, masa tenang, voting day, after it (Pilkada still to come),
# Pilkada masa tenang, and today (between elections).
REAL_DAYS = (date(2023, 11, 25), date(2024, 1, 10), date(2024, 2, 12), date(2024, 2, 14),
             date(2024, 3, 1), date(2024, 11, 25), TODAY)
# The same with made-up 2029 dates, as a trainer would add them.
DAYS_2029 = (date(2028, 11, 25), date(2029, 1, 5), date(2029, 2, 12), date(2029, 2, 14),
             date(2029, 3, 1))


@pytest.fixture(scope="module")
def cycle() -> list[tuple[date, dict[str, str]]]:
    """(day, placeholder values) for every day of the cycle."""
    real, future = load_facts(), with_2029_dates()
    return ([(day, real.values_for(day)) for day in REAL_DAYS]
            + [(day, future.values_for(day)) for day in DAYS_2029])


@pytest.fixture(scope="module")
def values() -> dict[str, str]:
    """Today's values."""
    return load_facts().values_for(TODAY)


@pytest.fixture(scope="module")
def faq_examples() -> dict[str, list[str]]:
    """Training examples per topic, read the way Rasa reads them."""
    data = RasaYAMLReader().read(str(FAQ_NLU))
    examples: dict[str, list[str]] = {}
    for message in data.intent_examples:
        full = message.get_full_intent()
        assert full.startswith(f"{FAQ_INTENT}/"), f"{full} in {FAQ_NLU.name} is not an FAQ intent"
        examples.setdefault(full.split("/", 1)[1], []).append(message.get("text"))
    return examples


@pytest.fixture(scope="module")
def responses() -> dict[str, list[dict[str, Any]]]:
    content = read_yaml_file(str(FAQ_RESPONSES))
    assert str(content.get("version")) == "3.1"
    return content["responses"]


def _answer(responses: dict[str, list[dict[str, Any]]], topic: str) -> list[dict[str, Any]]:
    return responses[f"utter_{FAQ_INTENT}/{topic}"]


# --- contract ------------------------------------------------------------------


def test_every_topic_has_exactly_one_training_intent() -> None:
    content = read_yaml_file(str(FAQ_NLU))
    names = Counter(block["intent"] for block in content["nlu"] if "intent" in block)
    expected = {f"{FAQ_INTENT}/{topic}" for topic in FAQ_TOPICS}
    assert set(names) == expected, (
        f"missing: {sorted(expected - set(names))}, not in the contract: "
        f"{sorted(set(names) - expected)}"
    )
    repeated = sorted(name for name, count in names.items() if count > 1)
    assert not repeated, f"intents listed more than once: {repeated}"


@pytest.mark.parametrize("topic", FAQ_TOPICS)
def test_topic_has_enough_examples(topic: str, faq_examples: dict[str, list[str]]) -> None:
    count = len(faq_examples.get(topic, []))
    assert count >= MIN_EXAMPLES, f"faq/{topic} has {count} examples, needs {MIN_EXAMPLES}"


def test_responses_are_exactly_the_contract(responses: dict[str, Any]) -> None:
    expected = {f"utter_{FAQ_INTENT}/{topic}" for topic in FAQ_TOPICS}
    assert set(responses) - expected == set(), "responses for topics outside the contract"
    assert expected - set(responses) == set(), "topics without a response"


@pytest.mark.parametrize("topic", FAQ_TOPICS)
def test_each_response_has_text(topic: str, responses: dict[str, Any]) -> None:
    variations = _answer(responses, topic)
    assert variations, f"utter_faq/{topic} is empty"
    for variation in variations:
        assert isinstance(variation.get("text"), str) and variation["text"].strip()


# --- training examples ---------------------------------------------------------


def test_no_example_is_repeated_across_or_within_topics(
    faq_examples: dict[str, list[str]],
) -> None:
    owners: dict[str, set[str]] = {}
    for topic, texts in faq_examples.items():
        counts = Counter(_normalise(text) for text in texts)
        repeated = [text for text, n in counts.items() if n > 1]
        assert not repeated, f"faq/{topic} repeats {repeated}"
        for text in counts:
            owners.setdefault(text, set()).add(topic)
    clashes = {text: sorted(topics) for text, topics in owners.items() if len(topics) > 1}
    assert not clashes, f"examples in more than one topic: {clashes}"


def test_no_faq_example_is_also_another_intent(faq_examples: dict[str, list[str]]) -> None:
    faq = {_normalise(text): topic for topic, texts in faq_examples.items() for text in texts}
    clashes = []
    for path in sorted(NLU_DIR.glob("*.yml")):
        if path == FAQ_NLU:
            continue
        for message in RasaYAMLReader().read(str(path)).intent_examples:
            text = _normalise(message.get("text"))
            if text in faq:
                clashes.append((text, f"faq/{faq[text]}", message.get_full_intent(), path.name))
    assert not clashes, f"same example under two intents: {clashes}"


def test_held_out_sentences_are_not_trained(faq_examples: dict[str, list[str]]) -> None:
    """Sentences of the NLU test set must stay out of the training data."""
    trained = {_normalise(text) for texts in faq_examples.values() for text in texts}
    held_out = sorted(
        message.get("text")
        for path in sorted(HELD_OUT_DIR.glob("*.yml"))
        for message in RasaYAMLReader().read(str(path)).intent_examples
        if _normalise(message.get("text")) in trained
    )
    assert not held_out, f"held-out sentences also in {FAQ_NLU.name}: {held_out}"


# --- answers -----------------------------------------------------------------------


def _rendered(responses: dict[str, Any], topic: str,
              cycle: list[tuple[date, dict[str, str]]]) -> list[tuple[date, str]]:
    """The answer on every day of the cycle."""
    return [(day, interpolate_text(variation["text"], values))
            for day, values in cycle for variation in _answer(responses, topic)]


@pytest.mark.parametrize("topic", FAQ_TOPICS)
def test_placeholders_refer_to_existing_facts(
    topic: str, responses: dict[str, Any], cycle: list[tuple[date, dict[str, str]]]
) -> None:
    for day, values in cycle:
        for variation in _answer(responses, topic):
            missing = placeholders_in(variation["text"]) - set(values)
            assert not missing, (
                f"utter_faq/{topic} uses {sorted(missing)}, which bot/resources/elections.yml "
                f"does not provide on {day}"
            )


def test_a_missing_fact_is_detected(values: dict[str, str]) -> None:
    text = "Masa tenang: {quiet_period_schedule_typo}."
    assert placeholders_in(text) - set(values) == {"quiet_period_schedule_typo"}
    # Rasa would leave the braces in the message: the length test catches that too.
    assert "{" in interpolate_text(text, values)


@pytest.mark.parametrize("topic", FAQ_TOPICS)
def test_rendered_answer_fits_one_phone_screen(
    topic: str, responses: dict[str, Any], cycle: list[tuple[date, dict[str, str]]]
) -> None:
    for day, rendered in _rendered(responses, topic, cycle):
        assert "{" not in rendered and "}" not in rendered, rendered
        assert len(rendered) <= MAX_ANSWER_CHARS, (
            f"utter_faq/{topic} has {len(rendered)} characters once filled in on {day} "
            f"(max {MAX_ANSWER_CHARS})"
        )
        assert "\n\n" not in rendered and rendered == rendered.strip(), (
            f"utter_faq/{topic} has an empty line on {day}: put a note placeholder "
            f"such as {{between_note}} at the start of a line"
        )


@pytest.mark.parametrize("topic", FAQ_TOPICS)
def test_every_answer_ends_with_its_legal_basis(
    topic: str, responses: dict[str, Any], cycle: list[tuple[date, dict[str, str]]]
) -> None:
    for day, rendered in _rendered(responses, topic, cycle):
        lines = rendered.strip().splitlines()
        dasar = [i for i, line in enumerate(lines) if line.startswith("Dasar:")]
        assert dasar == [len(lines) - 1], (
            f"utter_faq/{topic} needs exactly one 'Dasar:' line, as its last line ({day})"
        )
        assert LEGAL_SOURCE.search(lines[-1]), (
            f"utter_faq/{topic}: the Dasar line names no Pasal/UU/PKPU/Perbawaslu/SKB"
        )


def _penalty_kinds(dasar: str) -> set[str]:
    """Kinds of penalty stated by the UU 7/2017 penalty articles a Dasar line cites."""
    cited = set()
    for part in dasar.split(";"):
        if "UU 7/2017" in part:
            cited |= {PENALTY_ARTICLES[n] for n in ARTICLE_NUMBERS.findall(part)
                      if n in PENALTY_ARTICLES}
    return cited


@pytest.mark.parametrize("topic", FAQ_TOPICS)
def test_penalties_use_the_words_of_the_article_cited(
    topic: str, responses: dict[str, Any], values: dict[str, str]
) -> None:
    """Pasal 492/493/494/509 say pidana kurungan, 521/523 pidana penjara, with limits."""
    for variation in _answer(responses, topic):
        lines = interpolate_text(variation["text"], values).strip().splitlines()
        body = " ".join(lines[:-1])
        kinds = _penalty_kinds(lines[-1])
        if "kurungan" in kinds:
            assert KURUNGAN_PENALTY in body, (
                f"utter_faq/{topic} cites a kurungan article: say 'pidana kurungan paling lama "
                f"1 tahun dan denda paling banyak Rp12 juta'"
            )
        if kinds == {"kurungan"}:
            assert "penjara" not in body, (
                f"utter_faq/{topic} says penjara, but the article it cites says kurungan"
            )
        if "kurungan" not in kinds:
            assert "kurungan" not in body, (
                f"utter_faq/{topic} says kurungan without citing an article that says so"
            )
        # A maximum is a maximum: "paling lama 2 tahun", "paling banyak Rp24 juta"
        # (a range such as "Rp200 juta–Rp1 miliar" states both ends).
        for match in re.finditer(r"(\S+ \S+) (\d+ tahun|Rp\d+ (?:juta|miliar))\b(?!–)", body):
            before, amount = match.groups()
            assert before in ("paling lama", "paling banyak"), (
                f"utter_faq/{topic}: {amount!r} without 'paling lama' / 'paling banyak'"
            )


def test_the_penalty_check_can_fail() -> None:
    assert _penalty_kinds("Dasar: Pasal 280 ayat (2)–(3), 493, dan 494 UU 7/2017.") == {
        "kurungan"}
    assert _penalty_kinds("Dasar: Pasal 523 UU 7/2017; Pasal 187A UU 10/2016.") == {"penjara"}
    assert _penalty_kinds("Dasar: Pasal 28 ayat (3) jo. Pasal 45A UU ITE.") == set()


@pytest.mark.parametrize("topic", FAQ_TOPICS)
def test_no_past_date_is_presented_as_upcoming(
    topic: str, responses: dict[str, Any], cycle: list[tuple[date, dict[str, str]]]
) -> None:
    """Every date that has passed on the day sits in a sentence saying it is over."""
    month = {name: i for i, name in enumerate(MONTHS.split("|"), 1)}
    for day, rendered in _rendered(responses, topic, cycle):
        for sentence in re.split(r"(?<=\.)\s+|\n", rendered):
            for match in DATE_ID.finditer(sentence):
                shown = date(int(match.group(3)), month[match.group(2)], int(match.group(1)))
                if shown < day:
                    assert "sudah berakhir" in sentence or "Saat ini" in sentence, (
                        f"utter_faq/{topic} on {day} shows {match.group(0)} as if upcoming: "
                        f"{sentence!r}"
                    )


@pytest.mark.parametrize("topic", FAQ_TOPICS)
def test_election_facts_come_from_data(topic: str, responses: dict[str, Any]) -> None:
    """Dates are never typed into answers, and rules name the election they belong to."""
    for variation in _answer(responses, topic):
        text = variation["text"]
        typed = TYPED_DATE.search(text)
        assert not typed, f"utter_faq/{topic} types a date ({typed.group(0)!r}): use a placeholder"
        used = placeholders_in(text)
        for kind in ("pemilu", "pilkada"):
            facts = {
                name for name in used
                if name.startswith(f"{kind}_") and name != f"{kind}_rules_election"
                and not name.endswith(("_rule", "_regulation"))  # legal citations
            }
            if facts:
                assert f"{kind}_rules_election" in used, (
                    f"utter_faq/{topic} uses {sorted(facts)} without saying which "
                    f"election they belong to ({{{kind}_rules_election}})"
                )


def test_answers_use_anda_not_kamu(responses: dict[str, Any]) -> None:
    informal = re.compile(r"\b(kamu|lu|lo|elo|gue)\b", re.IGNORECASE)
    offenders = [
        name for name, variations in responses.items()
        for variation in variations if informal.search(variation["text"])
    ]
    assert not offenders, f"address the user as 'Anda': {offenders}"


def _buttons(responses: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, button)
        for name, variations in responses.items()
        for variation in variations
        for button in variation.get("buttons") or []
    ]


def test_buttons_have_short_titles_and_valid_payloads(responses: dict[str, Any]) -> None:
    buttons = _buttons(responses)
    assert buttons, "no answer offers a next step"
    for name, button in buttons:
        title = button.get("title") or ""
        assert 0 < len(title) <= MAX_BUTTON_TITLE_CHARS, f"{name}: button title {title!r}"
        match = PAYLOAD.match(button.get("payload") or "")
        assert match, f"{name}: payload {button.get('payload')!r} is not /intent"
        intent = match.group("intent")
        if intent == FAQ_INTENT:
            entities = json.loads(match.group("entities") or "{}")
            assert entities.get("faq_topic") in FAQ_TOPICS, f"{name}: {button['payload']}"
        else:
            assert intent in CORE_INTENTS, f"{name}: payload intent {intent!r} not in contract"
            assert not match.group("entities"), f"{name}: unexpected entities in payload"


def test_fact_names_do_not_shadow_utter_message_arguments(values: dict[str, str]) -> None:
    assert not set(values) & UTTER_MESSAGE_PARAMS


# --- test stories ------------------------------------------------------------------


def test_each_topic_has_one_test_story_with_a_new_sentence(
    faq_examples: dict[str, list[str]],
) -> None:
    stories = read_yaml_file(str(FAQ_STORIES))["stories"]
    trained = {_normalise(text) for texts in faq_examples.values() for text in texts}
    topics: Counter[str] = Counter()
    for story in stories:
        steps = story["steps"]
        user = next(step for step in steps if "user" in step)
        intent = user["intent"]
        assert intent.startswith(f"{FAQ_INTENT}/"), story["story"]
        topics[intent.split("/", 1)[1]] += 1
        assert _normalise(user["user"]) not in trained, (
            f"{story['story']}: the test sentence is also a training example"
        )
        assert {"action": "action_answer_faq"} in steps, story["story"]
    assert set(topics) == set(FAQ_TOPICS)
    assert all(count == 1 for count in topics.values()), topics
