"""The releases store: every package deployed, with its manifest, and the environment's history.

In Azure it is the storage account's releases container (`releases_container`, which Flex Consumption
also deploys from: paysim keeps to its own `paysim/` prefix); locally it is the state directory. The
history is written with a precondition (a blob ETag, a file lock locally) so two deploys cannot lose
each other's records.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from paysim_cli.deploy.history import ReleaseHistory
from paysim_cli.deploy.manifest import ReleaseManifest, read_manifest
from paysim_cli.errors import ExitCode, PaysimError
from paysim_cli.settings import Settings

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

PREFIX = "paysim"


class ReleaseStore(Protocol):
    location: str

    def put(self, package: Path, manifest: ReleaseManifest) -> None: ...
    def manifests(self) -> list[ReleaseManifest]: ...
    def fetch(self, version: str, directory: Path) -> Path: ...
    def history(self) -> ReleaseHistory: ...
    def save_history(self, history: ReleaseHistory) -> None: ...
    def locked(self) -> contextlib.AbstractContextManager[None]: ...


def release_store(settings: Settings) -> ReleaseStore:
    if settings.is_local:
        return LocalReleaseStore(settings.state_dir / "function")
    return BlobReleaseStore(settings)


def _not_stored(version: str, location: str) -> PaysimError:
    return PaysimError(
        "release_not_found",
        f"release {version} is not in the releases store ({location})",
        "`paysim function releases` lists the stored releases",
        exit_code=ExitCode.CONFIG,
    )


class LocalReleaseStore:
    """`.paysim/function/store/VERSION.zip` + `VERSION.json`, and `history.json`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root / "store")
        self._store = root / "store"

    def put(self, package: Path, manifest: ReleaseManifest) -> None:
        self._store.mkdir(parents=True, exist_ok=True)
        target = self._store / f"{manifest.version}.zip"
        if not target.exists():
            partial = target.with_name(target.name + ".partial")
            partial.write_bytes(package.read_bytes())
            partial.replace(target)
        _write_atomically(self._store / f"{manifest.version}.json", manifest.model_dump_json(indent=2))

    def manifests(self) -> list[ReleaseManifest]:
        return [
            ReleaseManifest.model_validate_json(path.read_bytes())
            for path in sorted(self._store.glob("*.json"))
        ]

    def fetch(self, version: str, directory: Path) -> Path:
        package = self._store / f"{version}.zip"
        if not package.exists():
            raise _not_stored(version, self.location)
        return package

    def history(self) -> ReleaseHistory:
        path = self.root / "history.json"
        if not path.exists():
            return ReleaseHistory()
        return ReleaseHistory.model_validate_json(path.read_bytes())

    def save_history(self, history: ReleaseHistory) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.root / "history.json", history.model_dump_json(indent=2))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One deploy at a time on this state directory; a second one is a conflict, not a wait."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "deploy.lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                raise PaysimError(
                    "deployment_in_progress",
                    "another `paysim function` deploy or rollback is running on this state directory",
                    "wait for it to finish, then run this again",
                    exit_code=ExitCode.CONFLICT,
                ) from error
            yield


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text + "\n", encoding="utf-8")
    partial.replace(path)


class BlobReleaseStore:
    """`paysim/releases/VERSION/{package.zip,manifest.json}` and `paysim/history.json` in the container."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.location = f"container {settings.releases_container}"
        self._etag: str | None = None

    def _container(self) -> ContainerClient:
        from paysim_cli.blob import container_client

        return container_client(self._settings, self._settings.releases_container)

    def put(self, package: Path, manifest: ReleaseManifest) -> None:
        with _blob_errors(self.location), self._container() as container:
            if not container.exists():
                container.create_container()
            base = f"{PREFIX}/releases/{manifest.version}"
            blob = container.get_blob_client(f"{base}/package.zip")
            if not blob.exists():
                with package.open("rb") as data:
                    blob.upload_blob(data, overwrite=True)
            container.upload_blob(
                f"{base}/manifest.json", manifest.model_dump_json(indent=2).encode(), overwrite=True
            )

    def manifests(self) -> list[ReleaseManifest]:
        with _blob_errors(self.location), self._container() as container:
            if not container.exists():
                return []
            return [
                ReleaseManifest.model_validate_json(container.download_blob(item.name).readall())
                for item in container.list_blobs(name_starts_with=f"{PREFIX}/releases/")
                if item.name.endswith("/manifest.json")
            ]

    def fetch(self, version: str, directory: Path) -> Path:
        from azure.core.exceptions import ResourceNotFoundError

        target = directory / f"{version}.zip"
        with _blob_errors(self.location), self._container() as container:
            try:
                downloader = container.download_blob(f"{PREFIX}/releases/{version}/package.zip")
            except ResourceNotFoundError:
                raise _not_stored(version, self.location) from None
            with target.open("wb") as stream:
                downloader.readinto(stream)
        read_manifest(target)
        return target

    def history(self) -> ReleaseHistory:
        from azure.core.exceptions import ResourceNotFoundError

        with _blob_errors(self.location), self._container() as container:
            try:
                downloader = container.download_blob(f"{PREFIX}/history.json")
            except ResourceNotFoundError:
                self._etag = None
                return ReleaseHistory()
            self._etag = downloader.properties.etag
            return ReleaseHistory.model_validate_json(downloader.readall())

    def save_history(self, history: ReleaseHistory) -> None:
        """Write the history only if nobody wrote it since it was read (ETag), else a conflict."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

        data = history.model_dump_json(indent=2).encode()
        with _blob_errors(self.location), self._container() as container:
            if not container.exists():
                container.create_container()
            blob = container.get_blob_client(f"{PREFIX}/history.json")
            try:
                if self._etag is None:
                    result = blob.upload_blob(data, overwrite=False)
                else:
                    result = blob.upload_blob(
                        data, overwrite=True, etag=self._etag, match_condition=MatchConditions.IfNotModified
                    )
            except (ResourceExistsError, ResourceModifiedError) as error:
                raise PaysimError(
                    "deployment_in_progress",
                    "another deploy wrote the release history meanwhile",
                    "`paysim function releases` shows it; deploy again once it has finished",
                    exit_code=ExitCode.CONFLICT,
                ) from error
            self._etag = result.get("etag")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        # In Azure, Kudu refuses a second deployment (409) and the history write is conditional.
        yield


@contextlib.contextmanager
def _blob_errors(location: str) -> Iterator[None]:
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

    try:
        yield
    except ClientAuthenticationError as error:
        raise PaysimError(
            "blob_auth_failed",
            f"the releases store ({location}) refused the credentials: {str(error).splitlines()[0]}",
            "the identity needs Storage Blob Data Contributor on the account",
            exit_code=ExitCode.AUTH,
        ) from error
    except ServiceRequestError as error:
        raise PaysimError(
            "blob_unavailable",
            f"the releases store ({location}) is unreachable: {str(error).splitlines()[0]}",
            "check blob_account_url; `paysim health --check blob` tells more",
            exit_code=ExitCode.UNAVAILABLE,
        ) from error
