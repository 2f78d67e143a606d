#!/usr/bin/env python3
"""A stand-in for the Steam Web API's Workshop and player calls and Steam's file CDN. Test
fixture.

  steam_web_api.py PORT STATE_DIR

STATE_DIR/items.json: {"<id>": {"title": ..., "time_updated": N, "content": "..."}, ...}
STATE_DIR/collections.json: {"<id>": ["<child id>", ...]}
Serves POST /ISteamRemoteStorage/GetPublishedFileDetails/v1/ and GetCollectionDetails/v1/
in the real reply format, and GET /files/<id>-<time_updated>.vpk; counts downloads in
STATE_DIR/downloads.log (one line per GET).

STATE_DIR/profiles.json: {"<steamid64>": {"personaname": ..., "avatarhash": "<40 hex>"}}
STATE_DIR/web_api_key: the one key accepted (HTTP 403 for another, as Steam answers)
Serves GET /ISteamUser/GetPlayerSummaries/v2/?key=&steamids=a,b,... as Steam does: at most 100
ids, the players it knows (others left out), avatars on avatars.steamstatic.com. Each call
appends its SteamIDs to STATE_DIR/summaries.log. Switches: STATE_DIR/down (HTTP 503) and
STATE_DIR/slow (holds the seconds to wait before answering).
"""
import http.server
import json
import os
import sys
import time
import urllib.parse

PORT = int(sys.argv[1])
STATE = sys.argv[2]


def load(name):
    path = os.path.join(STATE, name)
    return json.load(open(path)) if os.path.exists(path) else {}


def ids(form):
    return [v[0] for k, v in sorted(form.items()) if k.startswith("publishedfileids[")]


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, status, body, kind="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        items = load("items.json")
        if self.path.endswith("/GetPublishedFileDetails/v1/"):
            details = []
            for item_id in ids(form):
                item = items.get(item_id)
                if item is None:
                    details.append({"publishedfileid": item_id, "result": 9})
                    continue
                details.append({
                    "publishedfileid": item_id, "result": 1, "creator_app_id": 550,
                    "consumer_app_id": 550, "filename": item_id + ".vpk",
                    "file_size": str(len(item["content"])), "title": item["title"],
                    "file_url": "http://127.0.0.1:%d/files/%s-%d.vpk"
                                % (PORT, item_id, item["time_updated"]),
                    "time_updated": item["time_updated"]})
            self.reply(200, json.dumps({"response": {
                "result": 1, "resultcount": len(details), "publishedfiledetails": details}}))
        elif self.path.endswith("/GetCollectionDetails/v1/"):
            collections = load("collections.json")
            out = [{"publishedfileid": c, "result": 1,
                    "children": [{"publishedfileid": x, "sortorder": i, "filetype": 0}
                                 for i, x in enumerate(collections.get(c, []))]}
                   for c in ids(form)]
            self.reply(200, json.dumps({"response": {
                "result": 1, "resultcount": len(out), "collectiondetails": out}}))
        else:
            self.reply(404, "{}")

    def player_summaries(self, query):
        if os.path.exists(os.path.join(STATE, "down")):
            return self.reply(503, "<html>Service Unavailable</html>", "text/html")
        slow = os.path.join(STATE, "slow")
        if os.path.exists(slow):
            time.sleep(float(open(slow).read()))
        key_path = os.path.join(STATE, "web_api_key")
        key = open(key_path).read().strip() if os.path.exists(key_path) else None
        if query.get("key", [""])[0] != key:
            return self.reply(403, "<html><head><title>Forbidden</title></head></html>",
                              "text/html")
        ids = query.get("steamids", [""])[0].split(",")
        if not ids or len(ids) > 100:
            return self.reply(400, "<html>Bad Request</html>", "text/html")
        with open(os.path.join(STATE, "summaries.log"), "a") as log:
            log.write(",".join(ids) + "\n")
        profiles = load("profiles.json")
        players = []
        for steam_id in ids:
            profile = profiles.get(steam_id)
            if profile is None:
                continue
            avatar = "https://avatars.steamstatic.com/" + profile["avatarhash"]
            players.append({
                "steamid": steam_id, "communityvisibilitystate": 3, "profilestate": 1,
                "personaname": profile["personaname"], "commentpermission": 1,
                "profileurl": "https://steamcommunity.com/profiles/%s/" % steam_id,
                "avatar": avatar + ".jpg", "avatarmedium": avatar + "_medium.jpg",
                "avatarfull": avatar + "_full.jpg", "avatarhash": profile["avatarhash"],
                "lastlogoff": 1700000000, "personastate": 1, "primaryclanid":
                "103582791429521408", "timecreated": 1100000000, "personastateflags": 0})
        self.reply(200, json.dumps({"response": {"players": players}}))

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/ISteamUser/GetPlayerSummaries/v2/":
            return self.player_summaries(urllib.parse.parse_qs(url.query))
        name = self.path.rsplit("/", 1)[-1]
        item_id, _, version = name.partition("-")
        item = load("items.json").get(item_id)
        if not self.path.startswith("/files/") or item is None or \
                version != "%d.vpk" % item["time_updated"]:
            return self.reply(404, "not found", "text/plain")
        with open(os.path.join(STATE, "downloads.log"), "a") as log:
            log.write(name + "\n")
        self.reply(200, item["content"], "application/octet-stream")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)  # Bound before announcing.
print("Serving Steam Web API stand-in", flush=True)
server.serve_forever()
