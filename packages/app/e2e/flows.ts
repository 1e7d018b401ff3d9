/** Steps several end-to-end tests share, done through the pages as a person would. */
import type { Page } from 'playwright-core';

export interface NewAdmin {
  first: string;
  last: string;
  email: string;
  password: string;
  project: string;
}

export function newAdmin(project: string): NewAdmin {
  const tag = `${Date.now()}.${Math.floor(Math.random() * 1e6)}`;
  return { first: 'Ada', last: 'Admin', email: `ada.${tag}@example.com`, password: 'correct horse battery 1', project };
}

/** Registers through /register and waits for the project page. */
export async function registerWithProject(page: Page, baseUrl: string, admin: NewAdmin): Promise<void> {
  await page.goto(`${baseUrl}register`);
  await page.getByLabel(/^First name/).fill(admin.first);
  await page.getByLabel(/^Last name/).fill(admin.last);
  await page.getByLabel(/^Email/).fill(admin.email);
  await page.getByLabel(/^Password/).fill(admin.password);
  await page.getByLabel(/^Project name/).fill(admin.project);
  await page.getByRole('button', { name: 'Create account and project' }).click();
  await page.waitForURL('**/admin/project');
  await page.getByRole('heading', { name: `Project: ${admin.project}` }).waitFor();
}
