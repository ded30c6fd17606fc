/**
 * DOM updates for the job page (`#job`). No networking: feed it messages.
 */

const STATUS_LABELS = {
  queued: "Queued",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  cancelled: "Cancelled",
};

function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString();
}

function percent(progress) {
  const value = Math.min(1, Math.max(0, Number(progress) || 0));
  return { value, text: `${Math.round(value * 100)} %` };
}

/**
 * Bind the job page's elements.
 *
 * @param {HTMLElement} root The `#job` element; its children `.stage`,
 *   `progress`, `.percent`, `.message`, `.log`, `.open-viewer`, `.error`,
 *   `.status`, `.cancel-job` and `.retry-job` are updated in place.
 * @param {{ viewUrl?: string }} [options] Link target once succeeded.
 * @returns {{ showJob: (job: object) => void, appendLog: (log: object) =>
 *   void, setConnection: (state: string) => void, destroy: () => void }}
 *   The view.
 */
export function createJobView(root, { viewUrl } = {}) {
  const find = (selector) => root.querySelector(selector);
  const parts = {
    stage: find(".stage"),
    bar: find("progress"),
    percent: find(".percent"),
    message: find(".message"),
    log: find(".log"),
    link: find(".open-viewer"),
    error: find(".error"),
    status: find(".status"),
    cancel: find(".cancel-job"),
    retry: find(".retry-job"),
  };
  const setText = (element, text) => {
    if (element) {
      element.textContent = text ?? "";
    }
  };

  return {
    showJob(job) {
      const status = job.status ?? "";
      root.dataset.status = status;
      setText(parts.status, STATUS_LABELS[status] ?? status);
      setText(parts.stage, job.stage);
      setText(parts.message, job.message);
      const { value, text } = percent(job.progress);
      if (parts.bar) {
        parts.bar.value = value;
      }
      setText(parts.percent, text);
      if (parts.link && status === "succeeded") {
        if (viewUrl) {
          parts.link.href = viewUrl;
        }
        parts.link.hidden = false;
      }
      // Cancel while the job can still stop; Retry once it failed or was cancelled (owners only: the
      // page renders the forms only for them).
      if (parts.cancel) {
        parts.cancel.hidden = !["queued", "running"].includes(status);
      }
      if (parts.retry) {
        parts.retry.hidden = !["failed", "cancelled"].includes(status);
      }
      if (parts.error) {
        const failed = status === "failed";
        setText(parts.error, failed ? job.error || "The job failed." : "");
        parts.error.hidden = !failed;
      }
    },
    appendLog(log) {
      // The page is rendered with the events so far, and a (re)connected socket replays them all.
      const seen = log.id != null && parts.log?.querySelector(`li[data-event-id="${log.id}"]`);
      if (!parts.log || seen) {
        return;
      }
      const item = document.createElement("li");
      if (log.id != null) {
        item.dataset.eventId = String(log.id);
      }
      const time = document.createElement("time");
      time.dateTime = log.time ?? "";
      time.textContent = formatTime(log.time);
      const stage = document.createElement("span");
      stage.className = "log-stage";
      stage.textContent = log.stage ?? "";
      const message = document.createElement("span");
      message.className = "log-message";
      message.textContent = log.message ?? "";
      item.append(time, " ", stage, " ", message);
      parts.log.append(item);
      item.scrollIntoView?.({ block: "nearest" });
    },
    setConnection(state) {
      root.dataset.connection = state;
      if (state === "denied" && parts.error) {
        parts.error.hidden = false;
        setText(parts.error, "You can no longer follow this job: its area is not shared with you any more.");
      }
    },
    destroy() {
      delete root.dataset.connection;
    },
  };
}
