"""ELOT 743 transliteration, case by case, one rule per group."""

from __future__ import annotations

import pytest

from adapters.sandbox.translit import elot743


@pytest.mark.parametrize(
    ("greek", "latin"),
    [
        # Single letters, accents dropped.
        ("Γεώργιος", "Georgios"),
        ("Ιωάννα", "Ioanna"),
        ("Ξάνθη", "Xanthi"),
        ("Ζωή", "Zoi"),
        # Letters that become two Latin letters.
        ("Θεόδωρος", "Theodoros"),
        ("Χριστίνα", "Christina"),
        ("Ψυχογιός", "Psychogios"),
        # ου, and the pairs with γ.
        ("Παπαδόπουλος", "Papadopoulos"),
        ("Ουρανία", "Ourania"),
        ("Αγγελική", "Angeliki"),
        ("Γκίκας", "Gkikas"),
        ("Σφίγξ", "Sfinx"),
        ("Μελαγχολία", "Melancholia"),
        # μπ: b at the edges of a word, mp inside; ντ stays nt.
        ("Μπακάλης", "Bakalis"),
        ("Καμπάνης", "Kampanis"),
        ("Ντόκος", "Ntokos"),
        # αυ/ευ/ηυ: v before vowels and voiced consonants, f before voiceless or at the end.
        ("Ευάγγελος", "Evangelos"),
        ("Ευγενία", "Evgenia"),
        ("Παύλος", "Pavlos"),
        ("Σταύρος", "Stavros"),
        ("Ευθύμιος", "Efthymios"),
        ("Ναύπλιο", "Nafplio"),
        ("Ζεύς", "Zefs"),
        ("ηύρα", "ivra"),
        # A diaeresis or a stress on the first vowel breaks the pair.
        ("Ταΰγετος", "Taygetos"),
        ("Αχαΐα", "Achaia"),
        ("άυλος", "aylos"),
        ("Εύα", "Eva"),
        # Capitals: all-capital words stay all capitals.
        ("ΘΕΟΔΩΡΟΣ", "THEODOROS"),
        ("ΣΤΑΥΡΟΣ", "STAVROS"),
        ("ΧΑΝΙΑ", "CHANIA"),
        ("ΜΠΑΚΑΛΗΣ", "BAKALIS"),
        ("ΕΥΘΥΜΙΟΥ", "EFTHYMIOU"),
        # Anything not Greek passes through.
        ("Νέα Σμύρνη", "Nea Smyrni"),
        ("28ης Οκτωβρίου", "28is Oktovriou"),
        ("ΤΕΧΝΙΚΗ Α.Ε.", "TECHNIKI A.E."),
        ("", ""),
    ],
)
def test_elot743(greek: str, latin: str) -> None:
    assert elot743(greek) == latin


def test_a_capital_alone_at_the_end_of_a_capitalised_word_is_capitalised() -> None:
    assert elot743("Θ") == "Th"
    assert elot743("ΑΘ") == "ATH"
