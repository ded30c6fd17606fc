/**
 * Job page entry point (`/jobs/<id>/`): live progress over a WebSocket,
 * with the REST API as a first snapshot.
 */
import { getJob, jobApiUrl } from "../api.js";
import { FINAL_STATUSES, connectJobSocket } from "./jobSocket.js";
import { createJobView } from "./jobView.js";

/**
 * Start the job page.
 *
 * @param {HTMLElement} root The `#job` element with data-job-id,
 *   data-ws-url and data-view-url.
 * @returns {{ destroy: () => void }} Stops the socket.
 */
export function startJobPage(root) {
  const { jobId, wsUrl, viewUrl } = root.dataset;
  const view = createJobView(root, { viewUrl });
  let heardLive = false;
  const socket = connectJobSocket({
    url: wsUrl,
    onMessage(message) {
      if (message.type === "job") {
        heardLive = true;
        view.showJob(message);
      } else if (message.type === "log") {
        view.appendLog(message);
      }
    },
    onConnection: (state) => view.setConnection(state),
  });
  if (jobId) {
    getJob(jobApiUrl(jobId))
      .then((job) => {
        if (heardLive) {
          return;
        }
        view.showJob(job);
        if (FINAL_STATUSES.includes(job.status)) {
          socket.destroy();
        }
      })
      .catch((error) => console.warn("rs3d: job snapshot failed", error));
  }
  return {
    destroy() {
      socket.destroy();
      view.destroy();
    },
  };
}

const root = document.getElementById("job");
if (root) {
  startJobPage(root);
}
