"""Jobs: background reconstruction runs, their progress events, and the websocket that streams them."""
