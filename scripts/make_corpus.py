"""Regenerate src/minimodel/data/corpus.txt, the default tokenizer's training corpus.

The corpus is a few hundred short English sentences about who does what: every pronoun with
every verb, in the agreeing form ("he works", "I work") and the disagreeing one is left out on
purpose, so later labs can ask a model to prefer grammatical orderings. The output is
deterministic: running this script again gives the same file byte for byte.

    python scripts/make_corpus.py > src/minimodel/data/corpus.txt
"""

PRONOUNS = ["I", "you", "he", "she", "it", "we", "they"]
THIRD_PERSON_SINGULAR = {"he", "she", "it"}
# (base form, third-person singular form)
VERBS = [
    ("work", "works"), ("walk", "walks"), ("run", "runs"), ("read", "reads"),
    ("write", "writes"), ("sing", "sings"), ("eat", "eats"), ("sleep", "sleeps"),
    ("play", "plays"), ("go", "goes"), ("help", "helps"), ("learn", "learns"),
    ("teach", "teaches"), ("wait", "waits"), ("cook", "cooks"), ("swim", "swims"),
]
TAILS = ["", "here", "today", "at home", "every day", "hard", "well", "now"]
BE = {"I": "am", "he": "is", "she": "is", "it": "is"}  # everyone else: "are"
ADJECTIVES = ["happy", "tired", "ready", "here", "busy"]


def sentences() -> list[str]:
    lines = []
    for p_index, pronoun in enumerate(PRONOUNS):
        for v_index, (base, third) in enumerate(VERBS):
            verb = third if pronoun in THIRD_PERSON_SINGULAR else base
            lines.append(f"{pronoun} {verb}")
            # a deterministic rotation gives every pronoun/verb pair a different tail
            tail = TAILS[1 + (p_index + v_index) % (len(TAILS) - 1)]
            lines.append(f"{pronoun} {verb} {tail}")
            auxiliary = "does" if pronoun in THIRD_PERSON_SINGULAR else "do"
            if (p_index + v_index) % 2 == 0:
                lines.append(f"{pronoun} {auxiliary} not {base}")
        for adjective in ADJECTIVES:
            lines.append(f"{pronoun} {BE.get(pronoun, 'are')} {adjective}")
    return lines


if __name__ == "__main__":
    print("\n".join(sentences()))
