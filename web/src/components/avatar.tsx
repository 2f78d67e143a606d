// A player's Steam avatar (from the controller's Steam profiles), or their initial when Steam
// gave none, no Web API key is configured, or the image cannot be loaded.
import {useState} from 'preact/hooks';
import type {SteamProfile} from '../api/types';

// (Sizes are classes: the content security policy allows no inline styles.)
export function Avatar({profile, name, large = false}: {profile?: SteamProfile; name?: string; large?: boolean}) {
  const [failed, setFailed] = useState(false);
  const size = large ? 64 : 24;
  const classes = large ? 'avatar large' : 'avatar';
  if (profile?.avatarUrl && !failed) {
    return <img class={classes} src={profile.avatarUrl} alt="" width={size} height={size}
                loading="lazy" referrerpolicy="no-referrer" onError={() => setFailed(true)} />;
  }
  const initial = (profile?.personaName || name || '?').trim().charAt(0).toUpperCase() || '?';
  return <span class={`${classes} initial`} aria-hidden="true">{initial}</span>;
}

// The game's name, with the Steam name beside it when it differs.
export function PlayerName({name, profile}: {name?: string; profile?: SteamProfile}) {
  const steam = profile?.personaName;
  return <>{name}{steam && steam !== name && <span class="muted"> ({steam})</span>}</>;
}
