"""Whether a release image is in ECR (pre-check: a missing image would leave the standby colour in
ImagePullBackOff), through the amazon provider's ``EcrHook``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from switchyard.probes.clients import aws_client
from switchyard.probes.errors import NOT_FOUND, from_aws

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageLookup:
    exists: bool | None  # None: ECR could not be asked (status says why)
    status: str  # ok | not_found | forbidden | transient
    detail: str = ""


def find_image(
    repository: str, tag: str, *, aws_conn_id: str | None = "aws_default", request_timeout: float = 10.0
) -> ImageLookup:
    """Look ``repository:tag`` up with DescribeImages; a missing image or repository is ``exists=False``."""
    what = f"DescribeImages {repository}:{tag}"
    try:
        ecr = aws_client("ecr", aws_conn_id, request_timeout)
        images = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except Exception as exc:
        failed = from_aws(exc, what)
        if failed.status == NOT_FOUND:  # ImageNotFoundException or RepositoryNotFoundException
            return ImageLookup(False, NOT_FOUND, failed.detail)
        return ImageLookup(None, failed.status, failed.detail)
    if not images:
        return ImageLookup(False, NOT_FOUND, f"{what}: no such image")
    digest = images[0].get("imageDigest", "")
    return ImageLookup(True, "ok", f"{repository}:{tag} is {digest}")


def image_exists(
    repository: str, tag: str, *, aws_conn_id: str | None = "aws_default", request_timeout: float = 10.0
) -> bool | None:
    """True / False when ECR answered; None when it could not be asked (forbidden, transient — the
    reason is logged; ``find_image`` returns it)."""
    found = find_image(repository, tag, aws_conn_id=aws_conn_id, request_timeout=request_timeout)
    if found.exists is None:
        log.warning("cannot tell whether %s:%s exists (%s): %s", repository, tag, found.status, found.detail)
    return found.exists
