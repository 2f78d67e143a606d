// Keyset paging kept in the URL (`page_token`), with the tokens of the pages before it so
// "Previous" works; filters reset it.
import {useLocation} from 'preact-iso';

export function usePaging() {
  const {query, path, route} = useLocation();
  const token = query.page_token || undefined;
  const trail = (query.trail || '').split(',').filter(Boolean);
  const go = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(query as Record<string, string>);
    for (const [name, value] of Object.entries(changes)) {
      if (value) next.set(name, value);
      else next.delete(name);
    }
    const text = next.toString();
    route(text ? `${path}?${text}` : path);
  };
  return {
    token,
    // Sets filters and goes back to the first page.
    filter: (changes: Record<string, string | undefined>) => go({...changes, page_token: undefined, trail: undefined}),
    controls: (next: string | undefined) => ({
      hasPrevious: !!token,
      next,
      onNext: () => go({page_token: next, trail: [...trail, token ?? '-'].join(',')}),
      onPrevious: () => {
        const previous = trail.slice(0, -1);
        const back = trail[trail.length - 1];
        go({page_token: back && back !== '-' ? back : undefined, trail: previous.join(',') || undefined});
      },
    }),
  };
}
