export { baseConfig, databaseTimeoutsConfig, envFlag, loadConfig, ConfigError } from './config.ts';
export { createLogger, redactPaths, redactUrl, requestSerializer, type Logger } from './logger.ts';
export { parseExactJson, exactJsonParser, isExactNumber } from './json.ts';
export { newId } from './ids.ts';
export { AppError } from './errors.ts';
export { connectMessaging, provisionStreams, deleteStreams, type Messaging } from './nats.ts';
export { createMetrics, type Metrics } from './metrics.ts';
export {
  openDatabase,
  migrate,
  inTransaction,
  databaseTimeoutsFromEnv,
  Migration,
  type Database,
  type DatabaseOptions,
  type DatabaseTimeouts,
  type EntityManager,
} from './database.ts';
export { isInfrastructureError } from './infrastructure.ts';
export { queryRows, queryRow, queryRowsBound, executeBound } from './sql.ts';
export {
  hashChainMigration,
  hashChainTrigger,
  hashChainAtCommit,
  verifyChain,
  describeVerdict,
  entryHash,
  canonicalEntry,
  genesisHash,
  utcText,
  type HashChain,
  type ChainVerdict,
  type ChainBreak,
  type ChainProblem,
} from './hash-chain.ts';
/** MikroORM's entity definition (no decorators, so type stripping keeps working), lock modes and the `sql` tag for raw fragments (the database's `now()` in an update), for services' CRUD entities. */
export { defineEntity, p, LockMode, sql, type InferEntity } from '@mikro-orm/core';
export {
  enqueue,
  causeOf,
  makeEnvelope,
  outboxInsert,
  outboxRow,
  outboxRowsParam,
  startOutboxRelay,
  type Cause,
  type OutboxRelay,
  type OutboxRow,
} from './outbox.ts';
export {
  startConsumer,
  on,
  ignore,
  type Consumer,
  type ConsumerOptions,
  type HandlerEntry,
  type MessageHandler,
  type MessageContext,
} from './inbox.ts';
export { serveRpcs, callRpc, rpcRoute, RpcError, type RpcRoute, type RpcHandler, type RpcContext, type RpcServer } from './rpc.ts';
export { createHttpServer, sendData, fieldsOf, validationFieldsOf, type FieldError, type HttpServer, type ReadinessCheck } from './http.ts';
export { runService, runDatabaseService, runMessagingService, startDatabaseService, type Running } from './lifecycle.ts';
export { readinessOf, withDeadline } from './readiness.ts';
export { startDrainLoop, type DrainLoop, type DrainLoopOptions } from './drain-loop.ts';
export {
  startService,
  type Service,
  type ServiceDeps,
  type ServiceHooks,
  type ServiceKit,
  type ServiceParts,
  type ConsumerSpec,
  type Loop,
} from './service.ts';
