"""Seeded, reproducible school-shaped xAPI traces (``edh-connector simulate``).

Academies hold schools, schools hold classes of pupils with one teacher each. Every school
day, pupils log in to the ENT, attempt, answer and complete exercises (scored), hand in
homework and watch videos. A share of pupils drift away: after their drift week their
activity decays week after week, so dropout research has a signal. School and class are
``context.contextActivities.grouping`` activities (types below); the teacher is the
``context.instructor``. Output streams: memory does not grow with the volume.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts.minimisation import CLASS_TYPE, SCHOOL_TYPE

EDH = "https://w3id.org/xapi/edh"
ACADEMY_TYPE = f"{EDH}/activity-types/academy"
VERBS = {
    "logged-in": "https://w3id.org/xapi/adl/verbs/logged-in",
    "attempted": "http://adlnet.gov/expapi/verbs/attempted",
    "answered": "http://adlnet.gov/expapi/verbs/answered",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "submitted": f"{EDH}/verbs/submitted",
    "played": "https://w3id.org/xapi/video/verbs/played",
    "paused": "https://w3id.org/xapi/video/verbs/paused",
}
ACADEMIES = ("lyon", "grenoble", "creteil", "versailles", "lille", "bordeaux", "rennes", "nantes")
FIRST_NAMES = ("Léa", "Hugo", "Chloé", "Lucas", "Manon", "Nathan", "Inès", "Louis", "Jade", "Adam")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy")
SUBJECTS = ("mathematiques", "francais", "histoire-geo", "sciences", "anglais")


@dataclass(frozen=True)
class Pupil:
    """One simulated pupil (the identifiers below are what pseudonymisation must hide)."""

    login: str
    name: str
    home: str
    ability: float
    engagement: float
    drift_week: int | None


@dataclass(frozen=True)
class Klass:
    academy: str
    school_id: str
    class_id: str
    teacher: dict[str, Any]
    pupils: tuple[Pupil, ...]


@dataclass(frozen=True)
class SimulationSpec:
    """Shape of the simulated population and period."""

    pupils: int = 500
    weeks: int = 12
    seed: int = 42
    start: date | None = None
    dropout_share: float = 0.15
    class_size: int = 25

    def first_monday(self) -> date:
        """``start``, by default the Monday ``weeks`` weeks before this week's: the
        simulated period ends last week (recent data, within a contract's retention)."""
        if self.start is not None:
            return self.start
        today = datetime.now(UTC).date()
        return today - timedelta(days=today.weekday(), weeks=self.weeks)


def _population(spec: SimulationSpec, rng: random.Random) -> list[Klass]:
    classes: list[Klass] = []
    made = 0
    while made < spec.pupils:
        n = len(classes)
        academy = ACADEMIES[n // 12 % len(ACADEMIES)]
        home = f"https://ent.{academy}.example.fr"
        school = f"{home}/etablissements/{n // 6:04d}"
        pupils = []
        for _ in range(min(spec.class_size, spec.pupils - made)):
            made += 1
            drifts = rng.random() < spec.dropout_share
            pupils.append(
                Pupil(
                    login=f"eleve.{made:07d}",
                    name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    home=home,
                    ability=rng.betavariate(4, 2.5),
                    engagement=rng.uniform(0.55, 0.95),
                    drift_week=rng.randrange(2, max(3, spec.weeks)) if drifts else None,
                )
            )
        teacher = {"name": f"Prof {n}", "account": {"homePage": home, "name": f"prof.{n:05d}"}}
        classes.append(Klass(academy, school, f"{school}/classes/{n:05d}", teacher, tuple(pupils)))
    return classes


class _Writer:
    """Builds statements with deterministic ids and timestamps."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def statement(
        self, pupil: Pupil, klass: Klass, verb: str, obj: dict[str, Any], at: datetime, **extra: Any
    ) -> dict[str, Any]:
        grouping = [
            {"id": f"{pupil.home}/academie", "definition": {"type": ACADEMY_TYPE}},
            {"id": klass.school_id, "definition": {"type": SCHOOL_TYPE}},
            {"id": klass.class_id, "definition": {"type": CLASS_TYPE}},
        ]
        st: dict[str, Any] = {
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "actor": {
                "objectType": "Agent",
                "name": pupil.name,
                "account": {"homePage": pupil.home, "name": pupil.login},
            },
            "verb": {"id": VERBS[verb], "display": {"fr-FR": verb}},
            "object": {"objectType": "Activity", **obj},
            "context": {
                "platform": f"ENT {klass.academy}",
                "instructor": klass.teacher,
                "contextActivities": {"grouping": grouping},
            },
            "timestamp": at.isoformat(timespec="milliseconds"),
        }
        st.update(extra)
        return st


def _activity(kind: str, url: str) -> dict[str, Any]:
    return {"id": url, "definition": {"type": f"{EDH}/activity-types/{kind}"}}


def _pupil_day(w: _Writer, pupil: Pupil, klass: Klass, at: datetime) -> Iterator[dict[str, Any]]:
    rng = w.rng
    yield w.statement(pupil, klass, "logged-in", _activity("ent", f"{pupil.home}/ent"), at)
    subject = rng.choice(SUBJECTS)
    exercise = _activity("exercise", f"{pupil.home}/exercices/{subject}/{rng.randrange(400):03d}")
    at += timedelta(minutes=rng.randint(1, 20))
    yield w.statement(pupil, klass, "attempted", exercise, at)
    correct = 0
    questions = rng.randint(3, 8)
    for _ in range(questions):
        at += timedelta(seconds=rng.randint(20, 240))
        ok = rng.random() < pupil.ability
        correct += ok
        yield w.statement(pupil, klass, "answered", exercise, at, result={"success": ok})
    score = {"raw": correct, "min": 0, "max": questions, "scaled": round(correct / questions, 3)}
    result = {
        "score": score,
        "completion": True,
        "success": correct * 2 >= questions,
        "duration": f"PT{rng.randint(3, 40)}M",
    }
    yield w.statement(pupil, klass, "completed", exercise, at, result=result)
    if rng.random() < 0.4:
        homework = _activity("homework", f"{klass.class_id}/devoirs/{rng.randrange(60):02d}")
        yield w.statement(pupil, klass, "submitted", homework, at + timedelta(hours=5))
    if rng.random() < 0.3:
        video = _activity("video", f"{pupil.home}/videos/{subject}/{rng.randrange(80):02d}")
        yield w.statement(pupil, klass, "played", video, at + timedelta(hours=6))
        yield w.statement(pupil, klass, "paused", video, at + timedelta(hours=6, minutes=4))


def _active(pupil: Pupil, week: int, rng: random.Random) -> bool:
    chance = pupil.engagement
    if pupil.drift_week is not None and week >= pupil.drift_week:
        chance *= 0.5 ** (week - pupil.drift_week + 1)
    return rng.random() < chance


def simulate(spec: SimulationSpec, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Yield statements day by day (at most ``limit``); the same spec gives the same
    output (on the same day, when it has no ``start``)."""
    rng = random.Random(spec.seed)  # noqa: S311 - reproducible simulation, not security
    classes = _population(spec, rng)
    writer, emitted, first = _Writer(rng), 0, spec.first_monday()
    for week in range(spec.weeks):
        for weekday in range(5):
            day = first + timedelta(weeks=week, days=weekday)
            base = datetime(day.year, day.month, day.day, 7, 30, tzinfo=UTC)
            for klass in classes:
                for pupil in klass.pupils:
                    if not _active(pupil, week, rng):
                        continue
                    at = base + timedelta(minutes=rng.randint(0, 600))
                    for st in _pupil_day(writer, pupil, klass, at):
                        yield st
                        emitted += 1
                        if limit is not None and emitted >= limit:
                            return
