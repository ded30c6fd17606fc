/**
 * Upload page entry point (`/areas/new/`): drag and drop, checks in the
 * browser, resumable chunked transfer with progress.
 */
import { createUploadForm } from "./uploadForm.js";

const form = document.querySelector("form.upload[data-uploads-api]");
if (form) {
  createUploadForm(form);
}
