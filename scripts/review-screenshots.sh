#!/usr/bin/env bash
# Writes the README's screenshots of the review page, docs/images/review-list.png and
# docs/images/review-document.png: ReviewPageTests stores eight sentences tagged by models/ner-default.bundle,
# corrects one, and captures the list and a document in headless Chromium. Needs what scripts/test.sh needs
# (scripts/prerequisites.sh) and starts the same throwaway PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prerequisites.sh
scripts/postgres.sh start
export NERSERVICE_TEST_POSTGRES="$(scripts/postgres.sh url)"
export NERSERVICE_REVIEW_SCREENSHOTS="$PWD/docs/images"
dotnet test tests/NerService.Api.Tests -c Release \
  --filter "FullyQualifiedName~ReviewPageTests.ScreenshotsOfTheListAndOfADocumentAreWritten"
ls -l docs/images/review-list.png docs/images/review-document.png
