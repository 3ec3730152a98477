"""Request and response bodies of the HTTP API (pydantic), as published in /openapi.json."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    model_validator,
)

from ..text.labels import parse_labels


def _unicode(value: str) -> str:
    """JSON can carry half of a surrogate pair ("\\ud800"), which is no text the model can read."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"has an unpaired surrogate {value[exc.start]!r} at character {exc.start}: send valid Unicode"
        ) from None
    return value


def _check_labels(value: Any) -> Any:
    """Empty, duplicate, blank or non-string labels fail with anyner's own message."""
    labels = parse_labels(value)  # InputError is a ValueError: pydantic reports it as a 422 on "labels"
    for text in (*labels.names, *labels.prompts):
        _unicode(text)
    return value


Text = Annotated[StrictStr, AfterValidator(_unicode)]
Labels = Annotated[list[StrictStr] | dict[StrictStr, StrictStr], BeforeValidator(_check_labels)]


class ExtractRequest(BaseModel):
    """Exactly one of ``text`` or ``texts``; the model is the one the server started with."""

    model_config = ConfigDict(
        extra="forbid",  # a misspelt option is an error, not silently ignored
        json_schema_extra={
            "examples": [
                {"text": "Bill Gates founded Microsoft.", "labels": ["person", "organization"]},
                {
                    "texts": ["Aspirin treats headache.", "Paris is big."],
                    "labels": {"drug": "a medicine", "city": "a city"},
                    "threshold": 0.4,
                },
            ]
        },
    )

    text: Text | None = Field(None, description="One text; the response has one result.")
    texts: list[Text] | None = Field(None, description="Several texts; one result each, in order.")
    labels: Labels = Field(
        description="Entity types: a list of names, or {name: description} (the model reads the description)."
    )
    threshold: float = Field(
        0.5, ge=0.0, le=1.0, strict=True, allow_inf_nan=False, description="Minimum score, in [0, 1]."
    )
    flat_ner: StrictBool = Field(True, description="false: entities may nest inside other entities.")
    multi_label: StrictBool = Field(False, description="true: one span may carry several labels.")
    adapter: StrictStr | None = Field(
        None,
        description=(
            'A named adapter the server loaded at start (GET /v1/models lists them); "auto": each '
            "text goes to the adapter the router picks (a model with a router); null: the base model. "
            "Left out: the model's default (GET /v1/models: default_adapter)."
        ),
    )

    @model_validator(mode="after")
    def _one_of_text_texts(self) -> ExtractRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError('give exactly one of "text" (a string) or "texts" (a list of strings)')
        return self

    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class Entity(BaseModel):
    start: int = Field(description="Character offset of the first character.")
    end: int = Field(description="Character offset after the last character (exclusive).")
    text: str = Field(description="text[start:end]")
    label: str
    score: float


class ExtractResult(BaseModel):
    entities: list[Entity]
    adapter: str | None = Field(
        None, description='The adapter this text ran with ("auto": the router\'s pick); null: the base.'
    )
    truncated: bool = Field(
        False, description="true: the text had more than max_entities entities; the best-scoring are kept."
    )


class ExtractResponse(BaseModel):
    model: str = Field(description="Name of the model that served the request.")
    adapter: str | None = Field(
        None, description='The adapter the request ran with ("auto": routed per text); null: the base.'
    )
    results: list[ExtractResult] = Field(description="One per text, in request order.")
    max_entities: int = Field(description="Most entities returned per text (the best-scoring ones).")


class Health(BaseModel):
    status: str = "ok"


class ModelInfo(BaseModel):
    name: str = Field(description="The model folder's name (never its path on the server).")
    architecture: str
    backbone: str
    adapters: list[str] = Field(default_factory=list, description="Named adapters a request may ask for.")
    routing: bool = Field(False, description='true: the model has a router; a request may ask for "auto".')
    default_adapter: str | None = Field(None, description="What a request that names no adapter runs with.")


class ModelList(BaseModel):
    models: list[ModelInfo]


class ErrorDetail(BaseModel):
    field: str = Field(description='Where in the request, e.g. "body.texts.2"; "body" for the whole body.')
    problem: str


class Error(BaseModel):
    code: str = Field(description='"invalid_request", "limit_exceeded", "not_found", "unavailable"…')
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)
    limit: str | None = Field(None, description="For limit_exceeded: which limit, e.g. max_texts.")
    value: int | None = Field(None, description="For limit_exceeded: what the request had.")
    maximum: int | None = Field(None, description="For limit_exceeded: what the server allows.")


class ErrorResponse(BaseModel):
    error: Error
