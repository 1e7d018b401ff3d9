/** The parts of the admin API (src/admin/admin-routes.ts), each from its own file. */
import type { AdminPart } from './admin-routes.js';
import { projectRoutes } from './project-routes.js';
import { clientRoutes } from './client-routes.js';
import { botRoutes } from './bot-routes.js';
import { inviteRoutes } from './invite-routes.js';
import { explainRoutes } from './explain-routes.js';

export const ADMIN_PARTS: AdminPart[] = [projectRoutes, clientRoutes, botRoutes, inviteRoutes, explainRoutes];
