"""Request and response bodies of the API (their pydantic models are its OpenAPI schema).

Field names follow what the picsellia SDK sends and reads (``items`` lists, ``presigned_url_data``,
``object_name``...); trackboard's own routes are under ``/api/trackboard``.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

Name = Annotated[str, Field(description="1 to 256 characters")]
Uuid = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
                            description="a UUID")]
ExperimentStatus = Literal["RUNNING", "SUCCESS", "FAILED", "CANCELED", "TERMINATED", "WAITING"]


class Items(BaseModel, Generic[T]):
    """A page of a list."""

    items: list[T]
    count: int = Field(description="how many there are in all (before limit/offset)")


class Health(BaseModel):
    status: Literal["ok"]


# -- organisation (picsellia's, one per server) --------------------------------------------


class Ping(BaseModel):
    sdk_version: str
    default_organization: str
    username: str


class Organization(BaseModel):
    id: str
    name: str
    default_connector_id: str


# -- projects and experiments ----------------------------------------------------------------


class ProjectIn(BaseModel):
    name: Name
    description: str | None = None
    private: bool | None = Field(None, description="accepted for the SDK; ignored")


class ProjectUpdate(BaseModel):
    name: Name | None = None
    description: str | None = None
    private: bool | None = None


class ProjectOut(BaseModel):
    id: str
    name: str
    description: str | None = None
    created_at: float


class ExperimentIn(BaseModel):
    name: Name
    description: str | None = None
    parameters: dict[str, Any] | None = Field(None, description="logged as the TABLE log 'parameters'")
    base_experiment_id: str | None = Field(None, description="not supported: must be absent")
    base_model_version_id: str | None = Field(None, description="not supported: must be absent")


class ExperimentUpdate(BaseModel):
    name: Name | None = None
    description: str | None = None
    status: ExperimentStatus | None = None


class ExperimentOut(BaseModel):
    id: str
    name: str
    project_id: str
    status: str = Field(description="in the picsellia SDK's terms: a crashed run is FAILED")
    run_status: str = Field(description="trackboard's status: RUNNING, SUCCESS, FAILED or CRASHED")
    description: str | None = None
    created_at: float
    updated_at: float
    finished_at: float | None = None


class Ids(BaseModel):
    ids: list[str]


# -- logs (picsellia form: data as JSON, NaN and +-inf as "NaN"/"Infinity"/"-Infinity") -------


class LogIn(BaseModel):
    name: Name
    type: str = Field(description="VALUE, IMAGE, LINE, TABLE, BAR, HEATMAP, LABELMAP or EVALUATION (any case)")
    data: Any = Field(description="the log's data; for IMAGE the object named by generate_object_name")


class LogUpdate(BaseModel):
    name: Name | None = None
    data: Any = None


class LogAppend(BaseModel):
    data: Any


class LogOut(BaseModel):
    id: str
    name: str
    type: str
    data: Any = Field(description="canonical data; after a LINE append, the points that request added")


# -- uploads, downloads and artifacts (picsellia's object-storage flow) ------------------------


class ObjectNameIn(BaseModel):
    filename: str
    type: Literal["ARTIFACT", "LOG_IMAGE", "LOGGING"]
    context: dict[str, Any] | None = Field(None, description="{'experiment_id': ...}")
    upload_dir: str | None = None


class ObjectNameOut(BaseModel):
    object_name: str


class ObjectRef(BaseModel):
    object_name: str
    content_type: str | None = None


class PresignedData(BaseModel):
    url: str = Field(description="signed, expiring upload URL: POST multipart (field 'file') or PUT the bytes")
    fields: dict[str, str]


class PresignedUpload(BaseModel):
    client_type: str
    presigned_url_data: PresignedData


class PresignedDownload(BaseModel):
    presigned_url: str


class UploadOut(BaseModel):
    object_name: str
    sha256: str
    size: int


class MultipartStart(BaseModel):
    client_type: str = Field(description="'minio': the SDK then uploads S3-style parts")
    upload_id: str


class PartUrlIn(BaseModel):
    object_name: str
    upload_id: str = Field(max_length=1024)
    part_no: int = Field(ge=1, le=10_000)


class PartUrl(BaseModel):
    url: str = Field(description="signed, expiring URL: PUT the part's bytes; the answer's ETag header names them")


class PartOut(BaseModel):
    part_no: int
    etag: str
    size: int


class PartRef(BaseModel):
    ETag: str = Field(max_length=256)
    PartNumber: int = Field(ge=1, le=10_000)


class MultipartComplete(BaseModel):
    object_name: str
    upload_id: str = Field(max_length=1024)
    parts: list[PartRef] = Field(min_length=1, max_length=10_000, description="ascending PartNumber, each once")


class ArtifactIn(BaseModel):
    name: Name
    filename: str
    object_name: str
    large: bool = False


class ArtifactUpdate(BaseModel):
    name: Name | None = None
    filename: str | None = None
    object_name: str | None = None
    large: bool | None = None


class ArtifactOut(BaseModel):
    id: str
    name: str
    filename: str
    object_name: str
    large: bool
    size: int
    sha256: str
    content_type: str
    created_at: float
    presigned_url: str


# -- trackboard's own routes: batches and wire reads ------------------------------------------

Column = Annotated[str, Field(description="base64 of little-endian float64 values")]


class SeriesColumns(BaseModel):
    name: str | None = Field(None, description="null: the log's single unnamed series")
    values: Column
    steps: Column | None = Field(None, description="NaN items (or null): continue from the last step")
    times: Column | None = Field(None, description="wall-clock seconds; null: the entry's time")
    epochs: Column | None = Field(None, description="NaN items (or null): no epoch")


class LogEntry(BaseModel):
    """One or more records of one log."""

    experiment_id: str = Field(max_length=64)
    name: Name
    type: str
    replace: bool = False
    time: float = Field(description="wall-clock seconds of the (last) record")
    series: list[SeriesColumns] | None = Field(None, description="LINE only")
    data_json: str | None = Field(None, description="other types: the data as JSON text (NaN/Infinity bare)")
    content_b64: str | None = Field(None, description="IMAGE: the image bytes, base64; null if already stored")


class ProjectOp(BaseModel):
    """Ensure a project exists (one created while the server was unreachable)."""

    op: Literal["project"]
    id: Uuid
    name: Name
    description: str | None = None
    if_exists: Literal["use", "fail"] = Field(
        "use", description="a project of that name exists (with another id): use it, or answer 409"
    )


class ExperimentOp(BaseModel):
    """Ensure an experiment exists (one created while the server was unreachable)."""

    op: Literal["experiment"]
    id: Uuid
    name: Name
    description: str | None = None
    project_id: Uuid
    project_name: Name
    if_exists: Literal["use", "new", "fail"] = Field(
        "new", description="an experiment of that name exists (with another id): log to it ('use'), "
                           "create one named '<name> (n)' ('new') or answer 409 ('fail')"
    )


class StatusOp(BaseModel):
    """Set an experiment's status (after the batch's logs)."""

    op: Literal["status"]
    experiment_id: Uuid
    status: ExperimentStatus


Op = Annotated[Union[ProjectOp, ExperimentOp, StatusOp], Field(discriminator="op")]


class BatchIn(BaseModel):
    key: str = Field(min_length=8, max_length=128, description="idempotency key: a batch is applied once")
    ops: list[Op] = []
    logs: list[LogEntry] = []


class Refused(BaseModel):
    index: int = Field(description="position of the refused entry in 'logs'")
    status: int
    message: str


class BatchResult(BaseModel):
    duplicate: bool = Field(description="this key was applied before; its logs were not applied again")
    applied: int
    refused: list[Refused]
    ids: dict[str, str] = Field(description="ids given in ops -> the ids the server uses for them")
    renamed: dict[str, str] = Field(description="experiment id -> the new name when its name was taken")


class Kind(BaseModel):
    type: str
    named: bool | None = Field(description="LINE: whether the log holds named series")


class HeartbeatIn(BaseModel):
    """A client process still runs these experiments (see trackboard/heartbeat.py)."""

    ids: list[str] = Field(max_length=10_000)
    pid: int = Field(ge=0)
    hostname: str = Field(max_length=256)
    interval: float = Field(gt=0, le=86_400)


class RewindIn(BaseModel):
    step: float = Field(allow_inf_nan=False, description="LINE points with a greater step are dropped")


class RewindOut(BaseModel):
    dropped: int


class Kinds(BaseModel):
    kinds: dict[str, Kind]


class LogRow(BaseModel):
    id: str
    name: str
    type: str
    created_at: float
    updated_at: float


class WireLog(BaseModel):
    model_config = ConfigDict(title="WireLog")

    id: str
    name: str
    type: str
    series: list[SeriesColumns] | None = None
    data_json: str | None = None


class Exists(BaseModel):
    exists: bool
