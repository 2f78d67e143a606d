// The API's JSON messages, generated from proto/ (scripts/gen-proto.mjs): nothing here is
// written by hand but the short names.
export type {
  ApiTokenJson as ApiToken,
  AuditEntryJson as AuditEntry,
  BlueprintJson as Blueprint,
  BlueprintInputJson as BlueprintInput,
  BlueprintOverlayJson as BlueprintOverlay,
  ConsoleCommandResponseJson as ConsoleCommandResponse,
  CreateApiTokenResponseJson as CreateApiTokenResponse,
  CreateHostResponseJson as CreateHostResponse,
  CreateServerResponseJson as CreateServerResponse,
  ErrorJson as ApiErrorBody,
  HostJson as Host,
  JobEventJson as JobEvent,
  JobJson as Job,
  JobRefJson as JobRef,
  JobRefsJson as JobRefs,
  ListPlayerEventsResponseJson as ListPlayerEventsResponse,
  ListPlayerSessionsResponseJson as ListPlayerSessionsResponse,
  ListPlayersResponseJson as ListPlayersResponse,
  LogLineJson as LogLine,
  MetricSeriesJson as MetricSeries,
  OverlayJson as Overlay,
  ServerJson as Server,
  ServerLogsResponseJson as ServerLogsResponse,
  PlayerEventJson as PlayerEvent,
  PlayerJson as FleetPlayer,
  PlayerSessionJson as PlayerSession,
  ServerPlayersResponseJson as ServerPlayersResponse,
  SessionInfoJson as SessionInfo,
  SteamProfileJson as SteamProfile,
  UserJson as User,
  FleetSummaryJson as FleetSummary,
} from '../gen/l4d2/controller/v1/api_pb';
export type {
  WebhookInputJson as WebhookInput,
  WebhookJson as Webhook,
} from '../gen/l4d2/controller/v1/alerts_pb';
export type {
  ScheduleDefinitionJson as ScheduleDefinition,
  ScheduleInputJson as ScheduleInput,
  ScheduleJson as Schedule,
  ScheduleStepJson as ScheduleStep,
} from '../gen/l4d2/controller/v1/schedules_pb';
export type {
  BackupJson as Backup,
  BackupListJson as BackupList,
} from '../gen/l4d2/controller/v1/backups_pb';
export type {
  HostBuildJson as HostBuild,
  UpdateJobQueuedJson as UpdateJobQueued,
  UpdatePolicyJson as UpdatePolicy,
  UpdateStatusJson as UpdateStatus,
} from '../gen/l4d2/controller/v1/updates_pb';
export type {
  InstanceSpecJson as InstanceSpec,
  PlayerJson as Player,
} from '../gen/l4d2/agent/v1/instance_pb';
export type {SyncOverlayRequestJson as OverlaySource} from '../gen/l4d2/agent/v1/overlay_pb';
export type {CheckForUpdateResponseJson as CheckForUpdate} from '../gen/l4d2/agent/v1/install_pb';

// A page of any list: the list under its own key, and the cursor of the next page.
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}
