// Players across the fleet: search by name or SteamID, and one player's history (their
// totals, newest sessions and the servers they played on). Operators see their servers' part.
import {useState} from 'preact/hooks';
import {useLocation, useRoute} from 'preact-iso';
import {api} from '../api/client';
import {useResource} from '../api/resource';
import type {FleetPlayer, ListPlayersResponse} from '../api/types';
import {ago, dateTime, span} from '../lib/format';
import {Avatar, PlayerName} from '../components/avatar';
import {Empty, ErrorBox, Field, Loading, PageHeader, Stat, valueOf} from '../components/ui';

export function PlayersPage() {
  const {query, route} = useLocation();
  const q = query.q ?? '';
  const [draft, setDraft] = useState(q);
  const found = useResource((signal) => q ? api<ListPlayersResponse>(`/players?q=${encodeURIComponent(q)}`, {signal})
                                          : Promise.resolve({players: []} as ListPlayersResponse),
                            [q], ['players']);
  const players = found.data?.players ?? [];
  return (
    <section>
      <PageHeader title="Players" />
      <form class="filters" role="search" onSubmit={(event) => {
        event.preventDefault();
        route(`/players${draft.trim() ? '?q=' + encodeURIComponent(draft.trim()) : ''}`);
      }}>
        <Field label="Name or SteamID" hint="the first letters of a name, or a SteamID64 (7656119…)">
          <input name="q" value={draft} autoFocus onInput={(event) => setDraft(valueOf(event))} />
        </Field>
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={found.error} />
      {!q ? <Empty>Search a player by name or SteamID to see where and when they played.</Empty>
        : found.loading && !found.data ? <Loading what="players" />
        : players.length ? <PlayerRows players={players} />
        : <Empty>Nobody by that name or SteamID has played here.</Empty>}
    </section>
  );
}

function PlayerRows({players}: {players: FleetPlayer[]}) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label="Players found">
      <table>
        <thead><tr><th>Name</th><th>SteamID</th><th>Sessions</th><th>Played</th><th>Last seen</th></tr></thead>
        <tbody>{players.map((player) => (
          <tr>
            <td class="player"><Avatar profile={player.profile} name={player.name} /><a href={`/players/${player.steamId}`}><PlayerName name={player.name} profile={player.profile} /></a></td>
            <td class="mono">{player.steamId}</td>
            <td>{player.sessions ?? 0}</td>
            <td>{span(Number(player.secondsPlayed ?? 0))}</td>
            <td title={dateTime(player.lastSeenAt)}>{ago(player.lastSeenAt)}</td>
          </tr>
        ))}</tbody>
      </table>
    </div>
  );
}

export function PlayerPage() {
  const {params} = useRoute();
  const player = useResource((signal) => api<FleetPlayer>(`/players/${params.steamId}`, {signal}), [params.steamId], ['players']);
  if (!player.data) {
    return <section><PageHeader title="Player" /><ErrorBox error={player.error} />{!player.error && <Loading what="the player" />}</section>;
  }
  const p = player.data;
  const sessions = p.recentSessions ?? [];
  return (
    <section>
      <div class="player-header">
        <Avatar profile={p.profile} name={p.name} large />
        <PageHeader title={p.name ?? 'Player'}>
          <a class="button secondary" href={p.profile?.profileUrl || `https://steamcommunity.com/profiles/${p.steamId}`} target="_blank" rel="noopener noreferrer">Steam profile</a>
        </PageHeader>
      </div>
      <div class="stats">
        <Stat label="Played" value={span(Number(p.secondsPlayed ?? 0))} />
        <Stat label="Sessions" value={p.sessions ?? 0} />
        <Stat label="Servers" value={p.serverIds?.length ?? 0} />
        <Stat label={p.online ? 'In a game now' : 'Last seen'} value={p.online ? 'yes' : ago(p.lastSeenAt)} />
      </div>
      <dl class="facts">
        <dt>SteamID</dt><dd class="mono">{p.steamId}</dd>
        {p.profile?.personaName && <><dt>Steam name</dt><dd>{p.profile.personaName}</dd></>}
        <dt>First seen</dt><dd>{dateTime(p.firstSeenAt)}</dd>
      </dl>
      <h2>Sessions</h2>
      {sessions.length ? (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Sessions">
          <table>
            <thead><tr><th>Server</th><th>Name</th><th>Joined</th><th>Played</th><th>Left</th></tr></thead>
            <tbody>{sessions.map((session) => (
              <tr>
                <td><a href={`/servers/${session.serverId}`}>{session.serverName || session.serverId}</a></td>
                <td>{session.name}</td>
                <td title={dateTime(session.joinedAt)}>{ago(session.joinedAt)}</td>
                <td>{span(Number(session.seconds ?? 0))}</td>
                <td>{session.leftAt ? <>{ago(session.leftAt)} <span class="muted">({session.reason})</span></> : <strong>in the game</strong>}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      ) : <Empty>No sessions kept.</Empty>}
    </section>
  );
}
