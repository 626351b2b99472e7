"""The one home for names shared between steps.

Feature keys, split names, vocabulary names, reserved tokens and the rule that
maps a vocabulary line to an embedding-matrix row live here; no other module
spells them as string literals or does index arithmetic on token ids.
"""

from collections.abc import Iterable

# Raw features written by ExampleGen (see schemas/raw_schema.pbtxt).
TEXT = "text"
LABEL = "label"
REVIEW_ID = "review_id"
RATING = "rating"
MOVIE_ID = "movie_id"
SOURCE = "source"

# Values of LABEL: a positive review (rating 7-10, folder pos) and a negative one (1-4, neg).
POSITIVE_LABEL = 1
NEGATIVE_LABEL = 0

# Transformed features written by Transform.
TOKEN_IDS = "token_ids"
# Ids of the distinct word n-grams of a review (a bag of n-grams, no order):
# each n-gram's hash bucket (components.transform.preprocessing.ngram_id).
NGRAM_IDS = "ngram_ids"

# Output splits of ExampleGen.
TRAIN = "train"
EVAL = "eval"
TEST = "test"
UNSUP = "unsup"
LABELED_SPLITS = (TRAIN, EVAL, TEST)
# Splits whose text may be used to fit anything (vocabulary, word2vec).
FIT_SPLITS = (TRAIN,)
EMBEDDING_TEXT_SPLITS = (TRAIN, UNSUP)

# Evaluation-only features: the EvalSlices step (components/slicing/) adds them
# to copies of the test examples that only the Evaluator reads, so they are not
# in the raw schema and Transform and Trainer never see them. TFMA slices on them.
EVALUATION_SET = "evaluation_set"
FULL_REVIEW = "full_review"  # a test review as published
FIRST_SENTENCE = "first_sentence"  # the first sentence of a test review alone
LENGTH_BUCKET = "length_bucket"  # the review's length in tokens, as a range, e.g. "100-249"
# EvalSlices' output splits: the full test reviews, and their first sentences.
SLICED_TEST_SPLITS = (TEST, "test_first_sentence")

# Schema environments: the unlabeled split has no label.
LABELED_ENVIRONMENT = "LABELED"
UNLABELED_ENVIRONMENT = "UNLABELED"

# tf.Transform vocabulary files.
VOCABULARY_NAME = "tokens"
TOKEN_COUNTS_NAME = "token_counts"

# Reserved vocabulary entries: line i of the vocabulary is row i of the
# embedding matrix, so these ids are also matrix rows.
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
RESERVED_TOKENS = (PAD_TOKEN, UNK_TOKEN)
PAD_ID = RESERVED_TOKENS.index(PAD_TOKEN)
UNK_ID = RESERVED_TOKENS.index(UNK_TOKEN)


def vocabulary_words(vocabulary: Iterable[str]) -> list[str]:
    """A vocabulary's words in file order (tf.Transform's: most frequent first), reserved tokens left out."""
    return [token for token in vocabulary if token not in RESERVED_TOKENS]


# Serving signatures of the exported SavedModel.
TEXT_SIGNATURE = "serving_default"
EXAMPLES_SIGNATURE = "serving_tf_example"
TEXT_INPUT = "text"
EXAMPLES_INPUT = "examples"
PROBABILITY_OUTPUT = "probability"


def environment_for_split(split: str) -> str:
    """Returns the schema environment that applies to examples of ``split``."""
    return UNLABELED_ENVIRONMENT if split == UNSUP else LABELED_ENVIRONMENT
