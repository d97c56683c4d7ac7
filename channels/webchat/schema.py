"""The web chat API's request and answer bodies, as pydantic models.

The views parse requests with these models and build answers with them, and the OpenAPI
document (bot/openapi.py) is generated from them, so the contract and the code are one.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from flows.messages import Outbound

MAX_TEXT = 5000
MAX_CHOICES = 20

ShortId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class _Body(BaseModel):
    # Strict: a number is not text and a string is not a list; unknown keys are ignored so
    # that older and newer pages keep working.
    model_config = ConfigDict(strict=True, extra="ignore")


class OpenSession(_Body):
    """Start a conversation, optionally in a language the resident already chose."""

    language: Annotated[str, StringConstraints(max_length=35)] | None = Field(
        None, description="A language code such as `pl` or `pt-BR`; the browser's "
                          "Accept-Language is used when it is missing.")


class SendMessage(_Body):
    """What the resident typed or picked."""

    text: Annotated[str, StringConstraints(max_length=MAX_TEXT)] = Field(
        "", description="Typed text.")
    choice: ShortId | None = Field(None, description="The id of one choice picked.")
    choices: Annotated[list[ShortId], Field(max_length=MAX_CHOICES)] | None = Field(
        None, description="The ids of several choices picked (a multi-select question).")
    client_id: ShortId | None = Field(
        None, description="The page's id for this message: a retry with the same id is "
                          "answered with the same replies and changes nothing.")


class UploadFile(BaseModel):
    """A photo, video, voice recording or PDF, sent as `multipart/form-data`."""

    file: bytes = Field(description="The file. Its type is judged by its content, never by "
                                    "its name or declared type; see the errors. The same "
                                    "file sent again in a conversation (a retry) is kept "
                                    "once and answered with the same replies.")


class ChatChoice(BaseModel):
    """A selectable answer: a stable id and its label in the resident's language."""

    id: str
    label: str


class ChatProgress(BaseModel):
    """How far through the resident is, already in words for the page to show."""

    step: int = Field(description="The part being asked now, from 1.")
    total: int = Field(description="About how many parts there are.")
    text: str = Field(description="E.g. \"Step 3 of about 8\", in the resident's language.")
    section: str = Field(description="The name of the part, e.g. \"When and where\".")


class ChatMessage(BaseModel):
    """One message from the service to the resident."""

    text: str
    question: str | None = Field(description="The stable id of the question this message "
                                             "asks (e.g. `immediate_danger`), if any.")
    choices: list[ChatChoice]
    multiple: bool = Field(description="Whether several choices may be picked.")
    input: Literal["text", "choice", "none"] = Field(
        description="What the page should offer next: typing, choices, or nothing "
                    "(the conversation has finished).")
    lang: str
    dir: Literal["ltr", "rtl"]
    progress: ChatProgress | None = Field(None, description="On a question, how far "
                                                             "through the report the "
                                                             "resident is.")

    @classmethod
    def of(cls, message: Outbound) -> ChatMessage:
        """Return the API's shape of one outbound message."""
        return cls.model_validate(message.as_json())


class SessionOpened(BaseModel):
    """A new conversation: its opaque token (the resident's only credential) and greeting."""

    session: str = Field(description="Opaque session token; keep it secret.")
    messages: list[ChatMessage]
    language: str = Field(description="The conversation's chosen language. The page "
                                      "follows it, never a message's `lang`: an offer of "
                                      "another language does not change it.")


class Replies(BaseModel):
    """The service's answer to one message."""

    messages: list[ChatMessage]
    done: bool = Field(description="Whether the conversation has finished.")
    language: str = Field(description="The conversation's chosen language. The page "
                                      "follows it, never a message's `lang`: an offer of "
                                      "another language does not change it.")
