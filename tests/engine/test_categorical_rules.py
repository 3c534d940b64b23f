"""Arc's categorical inputs (`categorical`, `vocab_size`, `embedding_dim`): exact code, message
and range of each rule, and the shape check after the embedding."""

from __future__ import annotations

from arcgraph.engine.diagnostics import Severity

from .conftest import rows

NAME = "models/m-v1.model.yaml"

CAT_MODEL = """\
inputs:
  color:
    dtype: long
    shape: [null]
    columns: [color]
    categorical: true
    vocab_size: 10
    embedding_dim: 4
  features:
    dtype: float32
    shape: [null, 3]
    columns: [a, b, c]
graph:
  - name: joined
    type: torch.cat
    params: {dim: 1}
    inputs: [color, features]
  - name: fc
    type: torch.nn.Linear
    params: {in_features: 7, out_features: 1}
    inputs: {input: joined.output}
outputs:
  prediction: fc.output
loss:
  type: torch.nn.functional.mse_loss
  inputs: {input: prediction, target: label}
"""

SEQUENCE_MODEL = """\
inputs:
  tokens:
    dtype: int32
    shape: [null, 6]
    columns: [t0, t1, t2, t3, t4, t5]
    categorical: true
    vocab_size: 100
    embedding_dim: 8
graph:
  - name: pooled
    type: torch.mean
    params: {dim: 1}
    inputs: [tokens]
  - name: fc
    type: torch.nn.Linear
    params: {in_features: 8, out_features: 1}
    inputs: {input: pooled.output}
outputs:
  prediction: fc.output
loss:
  type: torch.nn.functional.mse_loss
  inputs: {input: prediction, target: label}
"""


def test_a_categorical_model_is_clean_with_torch(check_full) -> None:
    assert check_full(CAT_MODEL, NAME) == []
    assert check_full(SEQUENCE_MODEL, NAME) == []  # [null, 6] embeds to [batch, 6, 8]


def test_the_shape_check_sees_the_embedded_input(check_full) -> None:
    """color is [batch, 4] after its embedding: cat gives 4 + 3 features, not the raw 1 + 3."""
    got = check_full(CAT_MODEL.replace("in_features: 7", "in_features: 4"), NAME)
    assert rows(got) == [
        (
            "AG314",
            "shape check failed at node 'fc': Linear in_features 4 but input has 7 features",
            (17, 10, 17, 12),
        )
    ]


def test_the_shape_check_sees_a_sequence_as_batch_k_dim(check_full) -> None:
    got = check_full(SEQUENCE_MODEL.replace("in_features: 8", "in_features: 6"), NAME)
    assert rows(got) == [
        (
            "AG314",
            "shape check failed at node 'fc': Linear in_features 6 but input has 8 features",
            (13, 10, 13, 12),
        )
    ]


def test_categorical_needs_both_sizes(check_text) -> None:
    got = check_text(CAT_MODEL.replace("    embedding_dim: 4\n", ""), NAME)
    assert rows(got) == [
        (
            "AG330",
            "categorical input 'color' needs embedding_dim: its values are embedded by "
            "torch.nn.Embedding(vocab_size + 1, embedding_dim); add `embedding_dim: <n>`",
            (5, 4, 5, 15),
        )
    ]
    both = CAT_MODEL.replace("    embedding_dim: 4\n", "").replace("    vocab_size: 10\n", "")
    assert rows(check_text(both, NAME)) == [
        (
            "AG330",
            "categorical input 'color' needs vocab_size and embedding_dim: its values are "
            "embedded by torch.nn.Embedding(vocab_size + 1, embedding_dim); add "
            "`vocab_size: <n>` and `embedding_dim: <n>`",
            (5, 4, 5, 15),
        )
    ]


def test_sizes_are_positive_integers(check_text) -> None:
    assert rows(check_text(CAT_MODEL.replace("vocab_size: 10", "vocab_size: 0"), NAME)) == [
        ("AG113", "'inputs.color.vocab_size' must be a positive integer; got 0", (6, 16, 6, 17))
    ]
    assert rows(check_text(CAT_MODEL.replace("embedding_dim: 4", "embedding_dim: 2.5"), NAME)) == [
        (
            "AG112",
            "'inputs.color.embedding_dim' must be a positive integer; got 2.5",
            (7, 19, 7, 22),
        )
    ]
    assert rows(
        check_text(CAT_MODEL.replace("categorical: true", "categorical: yes please"), NAME)
    ) == [
        (
            "AG112",
            "'inputs.color.categorical' must be true or false; got 'yes please'",
            (5, 17, 5, 27),
        )
    ]


def test_a_categorical_dtype_is_an_index_type(check_text) -> None:
    got = check_text(CAT_MODEL.replace("dtype: long", "dtype: float32"), NAME)
    assert rows(got) == [
        (
            "AG331",
            "categorical input 'color' has dtype float32, but its values are indices into its "
            "embedding; use long (int64) or int32",
            (2, 11, 2, 18),
        )
    ]
    assert got[0].data == {"fix": "replace_value", "with": "long"}
    for ok in ("int64", "int32", "int"):
        assert check_text(CAT_MODEL.replace("dtype: long", f"dtype: {ok}"), NAME) == [], ok
    # torch.nn.Embedding refuses int16 indices
    assert [d.code for d in check_text(CAT_MODEL.replace("dtype: long", "dtype: int16"), NAME)] == [
        "AG331"
    ]


def test_a_categorical_shape_is_null_or_null_k(check_text) -> None:
    for shape in ("[null, 2, 3]", "[null, null]", "[4]"):
        text = CAT_MODEL.replace(
            "shape: [null]\n    columns: [color]", f"shape: {shape}\n    columns: [color]"
        )
        got = check_text(text, NAME)
        assert rows(got) == [
            (
                "AG332",
                f"categorical input 'color' has shape {shape}; a categorical input has shape "
                "[null] (one value per row) or [null, k] (k values per row)",
                (3, 11, 3, 11 + len(shape)),
            )
        ], shape


def test_sizes_without_categorical_are_a_warning(check_text) -> None:
    got = check_text(CAT_MODEL.replace("categorical: true", "categorical: false"), NAME)
    assert rows(got) == [
        (
            "AG333",
            "input 'color' gives vocab_size but is not categorical, so it has no embedding; add "
            "`categorical: true` to embed its values, or remove vocab_size",
            (6, 4, 6, 14),
        ),
        (
            "AG333",
            "input 'color' gives embedding_dim but is not categorical, so it has no embedding; "
            "add `categorical: true` to embed its values, or remove embedding_dim",
            (7, 4, 7, 17),
        ),
    ]
    assert {d.severity for d in got} == {Severity.WARNING}
    assert got[0].data == {"fix": "remove_key", "key": "vocab_size"}
    absent = check_text(CAT_MODEL.replace("    categorical: true\n", ""), NAME)
    assert [(d.code, d.span.start_line) for d in absent] == [("AG333", 5), ("AG333", 6)]
