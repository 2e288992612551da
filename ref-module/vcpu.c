// SPDX-License-Identifier: GPL-2.0
/*
 * VCPUs of an open /dev/dune file and DUNE_ENTER.
 */
#include <linux/errno.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>

#include "dune_mod.h"

void dune_file_init(struct dune_file *df)
{
	mutex_init(&df->lock);
	INIT_LIST_HEAD(&df->vcpus);
	df->next_handle = 1;
}

void dune_file_destroy(struct dune_file *df)
{
	mutex_destroy(&df->lock);
}

long dune_enter(struct dune_file *df, struct dune_config __user *uconf)
{
	struct dune_config conf;

	if (copy_from_user(&conf, uconf, sizeof(conf)))
		return -EFAULT;
	return -EOPNOTSUPP;
}

int dune_core_init(void)
{
	return 0;
}

void dune_core_exit(void)
{
}
