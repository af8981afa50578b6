"""Screenshots and documents sent by citizens, kept for the next report they file."""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import merge_evidence

logger = logging.getLogger(__name__)

MAX_EVIDENCE_FILES = 10


class ActionReceiveEvidence(Action):
    """Acknowledge files received through the channel and keep them in the `evidence` slot."""

    def name(self) -> str:
        return "action_receive_evidence"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        known = tracker.get_slot("evidence") or []
        merged, added = await merge_evidence(known, tracker, MAX_EVIDENCE_FILES)
        in_form = (tracker.active_loop or {}).get("name") == "report_form"
        if added == 0:
            if len(known) >= MAX_EVIDENCE_FILES:
                text = (f"Satu laporan memuat paling banyak {MAX_EVIDENCE_FILES} berkas bukti; "
                        "berkas ini tidak saya lampirkan.")
            elif known:
                text = "Berkas ini sudah saya terima sebelumnya."
            else:
                text = ("Saya belum menerima berkasnya. Kirim gambar tangkapan layar (JPG, PNG) "
                        "atau dokumen PDF langsung di percakapan ini, ya.")
            dispatcher.utter_message(text=text)
            return []
        logger.info("Evidence received (%d new, %d in total)", added, len(merged))
        count = f"{len(merged)} berkas" if len(merged) > 1 else "Berkas"
        if in_form:
            dispatcher.utter_message(
                text=f"{count} bukti sudah saya terima dan akan dilampirkan pada laporan ini. 👍")
        else:
            dispatcher.utter_message(
                text=f"{count} bukti sudah saya terima. Akan saya lampirkan pada laporan "
                "yang Anda kirim berikutnya.",
                buttons=[{"title": "Lapor pelanggaran", "payload": "/report_violation"}],
            )
        return [SlotSet("evidence", merged)]
