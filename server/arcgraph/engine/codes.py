"""Stable diagnostic codes, each with the rule it stands for.

Codes never change meaning once released: editors link them (`codeDescription`), CI scripts
filter on them. `docs/codes.md` is generated from this table (`python -m arcgraph.engine.codes`) and
a test keeps the two in sync.
"""

from __future__ import annotations

from dataclasses import dataclass

DOCS_URL = "https://github.com/arc-graph/arcgraph-tools/blob/main/docs/codes.md"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    title: str
    rule: str


_TABLE: list[CodeInfo] = []


def _code(code: str, title: str, rule: str) -> str:
    _TABLE.append(CodeInfo(code, title, rule))
    return code


# --- the text and its YAML -------------------------------------------------------------
YAML_SYNTAX = _code(
    "AG100", "YAML syntax error", "The text is not valid YAML; one diagnostic at the first error."
)
YAML_DUPLICATE_KEY = _code(
    "AG101", "duplicate key", "A mapping repeats a key; reported on the second one."
)
YAML_MULTI_DOCUMENT = _code(
    "AG102", "several documents", "A spec file holds exactly one YAML document."
)
YAML_NOT_MAPPING = _code(
    "AG103", "not a mapping", "The top level of a spec is a mapping of sections."
)
YAML_EMPTY = _code("AG104", "empty spec", "A file named as a spec has no content.")
YAML_NOT_TEXT = _code("AG105", "not a text file", "The file is binary or not UTF-8.")
YAML_RECURSIVE_ALIAS = _code(
    "AG106", "recursive alias", "An alias refers to a node that contains it."
)
YAML_ALIAS_EXPANSION = _code(
    "AG107",
    "aliases expand too far",
    "Aliases may repeat anchored values, but the document they expand to stays under"
    " 100,000 nodes (nested anchors multiply: an alias bomb).",
)
NOT_REGULAR_FILE = _code(
    "AG108",
    "not a regular file",
    "A path named like a spec that is a FIFO, socket, device or folder is skipped, never read"
    " (reading a FIFO would wait for a writer for ever).",
)

# --- structure (from the JSON Schemas) ---------------------------------------------------
MISSING_KEY = _code("AG110", "missing required key", "A key the spec requires is absent.")
UNKNOWN_KEY = _code("AG111", "unknown key", "A key the spec does not define (closed sections).")
WRONG_TYPE = _code(
    "AG112", "wrong type", "A value has the wrong type (a bool is not an int; 10.5 is not an int)."
)
OUT_OF_RANGE = _code("AG113", "out of range", "A number outside its allowed range.")
NOT_IN_ENUM = _code("AG114", "not an allowed value", "A value outside the fixed set of choices.")
BAD_FORMAT = _code("AG115", "bad format", "A string that does not match the required format.")
BAD_LENGTH = _code(
    "AG116", "wrong number of items", "A list or mapping with too few or too many entries."
)
IGNORED_TOP_LEVEL_KEY = _code(
    "AG117",
    "top-level key ignored",
    "The top level of a model spec is open (Arc writes `name`, `data_table`): a key the spec"
    " does not define is ignored by arcgraph, said as an info.",
)
TOP_LEVEL_KEY_TYPO = _code(
    "AG118",
    "top-level key looks like a spec key",
    "An unknown top-level key of a model spec within edit distance of a spec key (`grpah`):"
    " a warning with did-you-mean, since the section it was meant to be is ignored.",
)
ARC_UNIFIED_FORM = _code(
    "AG119",
    "Arc unified spec",
    "A model spec with Arc's `training:` section: the model part (with `training.loss` as"
    " its loss) is checked; the training section belongs in a trainer spec (quick fix: split).",
)
ARC_WRAPPER_FORM = _code(
    "AG120",
    "Arc model/trainer wrapper",
    "Arc's older `model:` / `trainer:` wrapper file: no Arc loader and no arcgraph check reads"
    " it (quick fix: split it into a model spec and a trainer spec).",
)

# --- trainer spec -------------------------------------------------------------------------
LOSS_IN_TRAINER = _code(
    "AG200", "loss in trainer spec", "Loss belongs in the model spec (trainer spec section 2)."
)
MODEL_REF_UNKNOWN = _code(
    "AG201", "unknown model_ref", "model_ref names no model spec in the workspace registry (5.1)."
)
MODEL_REF_FORMAT = _code(
    "AG202", "bad model ID format", "A model ID has the form <name>-v<version> (5.4)."
)
MODEL_NO_LOSS = _code(
    "AG203",
    "referenced model has no valid loss",
    "The referenced model must define a valid loss (5.1).",
)
OPTIMIZER_UNKNOWN = _code(
    "AG210",
    "unknown optimizer",
    "optimizer.type is not an optimizer class of the installed torch (5.2).",
)
OPTIMIZER_PARAM_UNKNOWN = _code(
    "AG211",
    "unknown optimizer parameter",
    "A key of optimizer.params is not a constructor argument (5.2).",
)
OPTIMIZER_PARAM_TYPE = _code(
    "AG212", "optimizer parameter type", "A value does not fit the argument's annotation."
)
OPTIMIZER_REJECTED = _code(
    "AG213", "optimizer rejects the values", "torch's own constructor check failed on these values."
)
LR_IN_PARAMS = _code(
    "AG214", "lr inside params", "The learning rate is optimizer.lr, not optimizer.params.lr."
)
CLOSURE_WITH_ACCUMULATION = _code(
    "AG215",
    "optimizer cannot accumulate gradients",
    "torch.optim.LBFGS re-evaluates one batch's loss during its step (a closure), so it"
    " trains with accumulate_grad_batches 1 only.",
)
OPTIMIZER_CANNOT_TRAIN = _code(
    "AG216",
    "optimizer cannot train the model",
    "The trainer gives the optimizer every parameter of the referenced model, with dense"
    " gradients (sparse for an Embedding or EmbeddingBag with sparse: true). torch constructs it"
    " with the model's parameters (built on meta) and takes one step on small stand-ins; where"
    " that fails (torch.optim.Muon: 2-D parameters only; torch.optim.SparseAdam: sparse"
    " gradients only) the node is named and another optimizer suggested.",
)
NO_VALIDATION = _code(
    "AG220",
    "needs a validation split",
    "An early_stopping_monitor val_* metric with validation_split: 0 is an error (the trainer"
    " refuses the run); early stopping or save_best_only with it and no monitor named is a"
    " warning (the trainer watches train_loss then).",
)
BOTH_CLIPS = _code(
    "AG221", "two gradient clippings", "Both gradient_clip_val and gradient_clip_norm are set."
)
CHECKPOINT_AFTER_END = _code(
    "AG222", "checkpoint never written", "checkpoint_every is larger than epochs."
)
PIN_MEMORY_WITHOUT_CUDA = _code(
    "AG223", "pin_memory without CUDA", "pin_memory only helps copies to a CUDA device."
)
UNKNOWN_METRIC = _code(
    "AG224", "unknown metric", "early_stopping_monitor names a metric the trainer never produces."
)

# --- trainer spec v1.1: learning-rate schedulers ------------------------------------------
SCHEDULER_UNKNOWN = _code(
    "AG240", "unknown scheduler", "scheduler.type is not a scheduler class of the installed torch."
)
SCHEDULER_PARAM_UNKNOWN = _code(
    "AG241", "unknown scheduler parameter", "scheduler.params names an argument it does not take."
)
SCHEDULER_PARAM_TYPE = _code(
    "AG242", "scheduler parameter type", "A scheduler value does not fit the argument's annotation."
)
SCHEDULER_OPTIMIZER_GIVEN = _code(
    "AG243", "optimizer in scheduler params", "The trainer passes its optimizer to the scheduler."
)
SCHEDULER_NEEDS_CALLABLE = _code(
    "AG244",
    "scheduler needs a callable",
    "LambdaLR and MultiplicativeLR take Python functions, which a spec cannot give.",
)
SCHEDULER_PARAM_MISSING = _code(
    "AG245", "scheduler argument missing", "A required constructor argument has no value."
)
SCHEDULER_MONITOR_UNUSED = _code(
    "AG246",
    "monitor not read",
    "scheduler.monitor is only read by a scheduler stepped on a metric (ReduceLROnPlateau).",
)
SCHEDULER_MONITOR_UNKNOWN = _code(
    "AG247",
    "unknown scheduler metric",
    "scheduler.monitor names a metric the trainer never produces, or a val_* metric with"
    " validation_split: 0 (the trainer refuses it, as early_stopping_monitor's AG224).",
)
SCHEDULER_REJECTED = _code(
    "AG248",
    "scheduler rejects the values",
    "torch's own scheduler constructor refused these values on the spec's optimizer.",
)
SCHEDULER_METRIC_PER_STEP = _code(
    "AG249",
    "metric scheduler per step",
    "ReduceLROnPlateau steps on a metric, computed once per epoch: interval must be epoch.",
)

# --- trainer spec v1.1: mixed precision -------------------------------------------------
FP16_WITHOUT_CUDA = _code(
    "AG250",
    "fp16 without CUDA",
    "mixed_precision: fp16 on device cpu or mps: fp16 autocast with a GradScaler needs CUDA"
    " (bf16 runs on the CPU).",
)
AMP_BACKEND_UNSUPPORTED = _code(
    "AG251",
    "amp_backend not supported",
    "amp_backend is `native` (torch.autocast) only; NVIDIA Apex (`apex`) is not supported.",
)
AMP_BACKEND_UNUSED = _code(
    "AG252",
    "amp_backend without mixed precision",
    "amp_backend is set but mixed_precision is false or absent, so it has no effect.",
)
FP16_WITH_CLOSURE = _code(
    "AG253",
    "fp16 with a closure optimizer",
    "LBFGS steps through a closure, which torch's GradScaler cannot step; use bf16 or no"
    " mixed precision with it.",
)

# --- trainer spec v1.1: callbacks --------------------------------------------------------
CALLBACK_UNKNOWN = _code(
    "AG255",
    "unknown callback",
    "A callbacks entry's type is not in the fixed arc.callbacks registry (TensorBoardLogger,"
    " ModelCheckpoint, LearningRateMonitor); a spec string is never imported.",
)
CALLBACK_PARAM_UNKNOWN = _code(
    "AG256", "unknown callback parameter", "A callback's params name one it does not take."
)
CALLBACK_PARAM_TYPE = _code(
    "AG257",
    "callback parameter value",
    "A callback param's value is not of its type or not one of its choices.",
)
CALLBACK_MONITOR_UNKNOWN = _code(
    "AG258",
    "callback monitor never produced",
    "ModelCheckpoint's monitor names a metric the trainer never produces (the trainer refuses"
    " it before training).",
)
CALLBACK_DUPLICATE = _code(
    "AG259",
    "callback given twice",
    "Two callbacks that would write the same files (TensorBoardLogger with one log_dir,"
    " ModelCheckpoint with one monitor) or a LearningRateMonitor twice.",
)

# --- trainer spec v1.1: portability to v1.0 ----------------------------------------------
NOT_IN_V10 = _code(
    "AG265",
    "not in v1.0",
    "A trainer spec v1.1 key (scheduler, callbacks, config.mixed_precision, config.amp_backend,"
    " config.distributed, config.world_size, config.backend) while the spec version checked is"
    " 1.0 (`arcgraph.spec`, `arcgraph check --spec 1.0`).",
)

# --- trainer spec v1.1: distributed training --------------------------------------------
NCCL_WITHOUT_CUDA = _code(
    "AG270",
    "nccl without CUDA",
    "config.backend: nccl with device cpu or mps: NCCL runs on CUDA GPUs only (gloo runs on the"
    " CPU).",
)
BATCH_NOT_DIVISIBLE = _code(
    "AG271",
    "batch_size not divisible by world_size",
    "batch_size is the global batch: each of the world_size processes takes batch_size /"
    " world_size rows of it, so it must be a multiple of world_size.",
)
WORLD_EXCEEDS_GPUS = _code(
    "AG272",
    "world_size above this machine's GPUs",
    "Info: world_size asks for more CUDA processes than the machine the editor runs on has"
    " GPUs (fine when the spec is meant for another machine or several nodes).",
)

# --- model spec ---------------------------------------------------------------------------
DUPLICATE_NODE = _code("AG300", "duplicate node name", "Node names are unique within a graph.")
UNKNOWN_NODE_TYPE = _code(
    "AG301", "unknown node type", "A node type that is not in the installed torch."
)
REJECTED_NAME = _code(
    "AG302",
    "forbidden name",
    "A name that does I/O or runs code; specs may use tensor operations only.",
)
UNKNOWN_PARAM = _code(
    "AG303", "unknown parameter", "A params key that the class or function does not accept."
)
PARAM_TYPE = _code(
    "AG304", "parameter type", "A params value that does not fit the argument's annotation."
)
UNRESOLVED_REFERENCE = _code(
    "AG305", "unresolved reference", "An input reference to no input or node."
)
GRAPH_CYCLE = _code("AG306", "cycle in graph", "The graph must be acyclic.")
UNKNOWN_MODULE = _code(
    "AG307", "unknown module", "module.X or arc.stack names a module that is not defined."
)
BAD_STACK = _code(
    "AG308", "bad arc.stack", "arc.stack needs params module (a defined module) and count >= 1."
)
BAD_OUTPUT = _code("AG309", "bad output", "An output must refer to a node of the graph.")
NOT_A_LOSS = _code("AG310", "not a loss function", "loss.type must be a torch loss function.")
LOSS_INPUT_UNKNOWN = _code(
    "AG311", "loss input is not an output", "loss.inputs.input names an entry of outputs."
)
TARGET_IS_FEATURE = _code(
    "AG312", "target is a feature", "loss.inputs.target is also an input column: label leakage."
)
MISSING_PARAM = _code(
    "AG313", "missing required argument", "A required constructor/function argument has no value."
)
SHAPE_ERROR = _code("AG314", "shape error", "A forward pass on meta tensors failed at this node.")
DUPLICATE_MODEL_ID = _code(
    "AG315", "duplicate model ID", "Two model spec files in the workspace have one ID."
)
BAD_TARGET_OBJECT = _code(
    "AG316", "bad _target_ object", "A nested _target_ must name a torch.nn class."
)
COLUMNS_SHAPE_MISMATCH = _code(
    "AG317",
    "columns do not match shape",
    "The last dim of an input's shape equals its number of columns.",
)
UNKNOWN_DTYPE = _code("AG318", "unknown dtype", "dtype must be a torch dtype name.")
MODULE_BINDING = _code(
    "AG319",
    "module input binding",
    "How a module.X / arc.stack node's inputs bind to the module's inputs.",
)
UNKNOWN_INPUT_ARG = _code(
    "AG320",
    "unknown input argument",
    "A keyword in a node's inputs that its forward/function does not take.",
)
MODEL_ID_FORMAT = _code(
    "AG322", "bad model file name", "A model spec's file name gives its ID, <name>-v<version>."
)
CATEGORICAL_INCOMPLETE = _code(
    "AG330",
    "categorical input incomplete",
    "A `categorical: true` input gives `vocab_size` and `embedding_dim`: its embedding is built"
    " from both (Arc's builder refuses it without them).",
)
CATEGORICAL_DTYPE = _code(
    "AG331",
    "categorical dtype",
    "A categorical input holds indices into its embedding: dtype int64 (long) or int32 (int),"
    " the index types torch.nn.Embedding takes.",
)
CATEGORICAL_SHAPE = _code(
    "AG332",
    "categorical shape",
    "A categorical input has shape [null] (one value per row, embedded to [batch, embedding_dim])"
    " or [null, k] (k values, embedded to [batch, k, embedding_dim]).",
)
EMBEDDING_WITHOUT_CATEGORICAL = _code(
    "AG333",
    "embedding keys without categorical",
    "`vocab_size` / `embedding_dim` only take effect with `categorical: true`; without it the"
    " input reaches the graph as it is.",
)

# --- torch availability -------------------------------------------------------------------
TORCH_UNAVAILABLE = _code(
    "AG400", "torch checks off", "torch is not importable by the configured interpreter."
)
TORCH_WORKER_FAILED = _code(
    "AG401", "torch worker failed", "The torch worker crashed or timed out; the check was skipped."
)


def table() -> list[CodeInfo]:
    return list(_TABLE)


def info(code: str) -> CodeInfo | None:
    return next((c for c in _TABLE if c.code == code), None)


def doc_link(code: str) -> str:
    return f"{DOCS_URL}#{code.lower()}"


def render_markdown() -> str:
    """The text of docs/codes.md."""
    out = [
        "# Diagnostic codes",
        "",
        "Generated by `python -m arcgraph.engine.codes > docs/codes.md`; stable across releases.",
        "",
        "| code | title | rule |",
        "|---|---|---|",
    ]
    for c in _TABLE:
        out.append(f'| <a id="{c.code.lower()}"></a>`{c.code}` | {c.title} | {c.rule} |')
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
